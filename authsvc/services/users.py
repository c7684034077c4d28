"""Account administration: search, deactivate/activate, unlock, first admin, dashboard figures."""

from flask_babel import gettext as _
from sqlalchemy import func, or_

from .. import crypto, keys
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db, redis_client
from ..models import AuditEvent, User, iso, utcnow
from . import audit, daily, paging, factors, forward_auth, mail, passwords, recovery, recovery_codes, signin, tokens
from .validation import check_new_password, has_control_chars, normalize_email, normalize_username

PER_PAGE = 20


def search(query=None, page=1, per_page=PER_PAGE):
    """Users whose email or username contains `query`, newest first; returns (items, total,
    exact): total is capped (paging.capped_count), exact False when more rows match.

    Emails and usernames are stored lower-case, so the match is a plain LIKE on the column:
    on PostgreSQL the pg_trgm GIN indexes ix_users_email_trgm / ix_users_username_trgm
    serve it (migration 3f8c2a6d9e41); SQLite scans, as it always did."""
    if has_control_chars(query):  # PostgreSQL refuses NUL in text; no account has them
        raise InvalidInput({"q": [_("The request was malformed.")]}, status=400)
    statement = db.select(User)
    if query:
        # autoescape: %, _ and the escape character are plain characters, not LIKE wildcards
        text = query.strip().lower()
        statement = statement.where(or_(User.email.contains(text, autoescape=True),
                                        User.username.contains(text, autoescape=True)))
    total, exact = paging.capped_count(statement)
    items = db.session.execute(statement.order_by(User.id.desc())
                               .limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return items, total, exact


MAX_ID = 2**31 - 1  # users.id is an INTEGER column; larger ids overflow the driver


def get(user_id):
    """The account with this id, or NotFound."""
    user = db.session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None:
        raise NotFound()
    return user


def summary(user):
    """What the admin sees of one account."""
    data = user.to_dict()
    data.update(active=user.active, last_login_at=iso(user.last_login_at),
                password_changed_at=iso(user.password_changed_at), locked=signin.is_locked(user),
                sessions=len(tokens.list_sessions(user)), second_factors=factors.enrolled(user),
                recovery_codes_remaining=recovery_codes.remaining(user))
    return data


def deactivate(user, actor):
    """Disable the account and end every session and token at once."""
    if user.id == actor.id:
        raise Forbidden(_("You cannot deactivate your own account."))
    user.active = False
    tokens.end_all(user)
    audit.record("admin.user_deactivated", user=user, actor=actor)
    mail.security_alert(user, "deactivated")
    return user


def locked_ids(items):
    """Ids of the accounts in `items` whose password sign-in is locked now (one round trip)."""
    return {user.id for user, locked in zip(items, signin.are_locked(items)) if locked}


def clear_pending_codes(user, actor):
    """Delete every emailed code the account has outstanding (sign-in, reset, second step, and
    the email change with its pending new address): a code that went to the wrong place or
    that the owner reports stops working at once. Returns the account; the audit row says
    how many there were. (A registration's code is the pending registration's, not the
    account's: it is not here.)"""
    owned = [keys.code(purpose, crypto.address_id(user.email)) for purpose in ("login", "reset", "second_factor")]
    new_email = recovery.pending_email(user)
    if new_email:
        owned.append(keys.code("change_email", crypto.address_id(new_email)))
    pipe = redis_client.pipeline(transaction=True)
    for key in owned:
        pipe.delete(key)
    pipe.delete(keys.pending_email_change(user.id))
    cleared = sum(pipe.execute()[:-1])
    audit.record("admin.codes_cleared", user=user, actor=actor, detail={"cleared": cleared})
    return user


def activate(user, actor):
    user.active = True
    audit.record("admin.user_activated", user=user, actor=actor)
    return user


def unlock(user, actor):
    signin.clear_lockout(user)
    audit.record("admin.user_unlocked", user=user, actor=actor)
    return user


def find_by_email(email):
    """The account with this normalised address, or None."""
    return db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()


def create_admin(email, username, password):
    """Create an admin, or promote the existing account with that email; returns (user, created)."""
    email = normalize_email(email)
    existing = find_by_email(email)
    if existing is not None:
        existing.is_admin = True
        forward_auth.refresh_claims(existing)  # the proxy's answers name the admins group at once
        audit.record("admin.created", user=existing, detail={"promoted": True})
        return existing, False
    username = normalize_username(username)
    if db.session.execute(db.select(User.id).filter_by(username=username)).first():
        raise Conflict({"username": [_("This username is taken. Please choose another.")]})
    if not password:
        raise InvalidInput({"password": [_("Please choose a password.")]})
    check_new_password(password, username, email)
    now = utcnow()
    user = User(email=email, username=username, password_hash=passwords.hash_password(password),
                is_admin=True, email_verified_at=now, password_changed_at=now)
    db.session.add(user)
    db.session.flush()
    audit.record("admin.created", user=user, detail={"promoted": False})
    return user, True


DASHBOARD_FIGURES = {"registrations": "registrations", "logins": "sign_ins", "login_failures": "sign_in_failures",
                     "lockouts": "lockouts", "codes_sent": "codes.issued", "codes_mailed": "codes.mailed",
                     "codes_used": "codes.used"}


def dashboard():
    """Today's figures and the last 7 days' (DISPLAY_TIMEZONE days, from the day figures), the
    code-usage rate (of the codes really mailed), and the number of accounts."""
    figures = {}
    for window, days in (("today", 1), ("7d", 7)):
        totals = daily.totals(*daily.window(days))
        figures[window] = {name: totals.get(figure, 0) for name, figure in DASHBOARD_FIGURES.items()}
        figures[window]["code_usage_rate"] = totals["code_usage_rate"]
    figures["users"] = db.session.execute(db.select(func.count(User.id))).scalar_one()
    return figures
