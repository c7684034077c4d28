"""Invite codes: create, check, take one use atomically, disable."""

import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, not_, or_, update
from sqlalchemy.exc import IntegrityError

from .. import keys
from ..errors import InvalidInput, RateLimited
from ..extensions import db, redis_client
from ..models import InviteCode, InviteUse, iso, utcnow
from ..requestinfo import client_net
from . import audit
from .validation import has_control_chars

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # 31 symbols; 16 of them carry 79 bits
CODE_LENGTH = 16
INVITE_FIELD = "invite_code"


def generate_invite_code():
    """16 symbols from a 31-letter alphabet (79 bits), shown in groups of four."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def normalize_invite(raw):
    value = (raw or "").strip().upper()
    if not value:
        raise InvalidInput({INVITE_FIELD: [_("An invite code is required to register.")]})
    if len(value) > 64 or not all(ch.isalnum() or ch in "-_" for ch in value):
        raise InvalidInput({INVITE_FIELD: [_("This invite code is not valid.")]})
    return value


def _guard_guessing():
    """Wrong invite codes are limited per IP so codes can't be guessed."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    key = keys.invite_failures(client_net() or "-")
    pipe = redis_client.pipeline(transaction=True)
    pipe.incr(key)
    pipe.ttl(key)
    failures, ttl = pipe.execute()
    if ttl < 0:  # first failure of the window (EXPIRE NX needs Redis 7; embedded is 6.2)
        redis_client.expire(key, keys.INVITE_FAILURES_TTL)
        ttl = keys.INVITE_FAILURES_TTL
    if failures > current_app.config["INVITE_FAILURES_PER_HOUR"]:
        raise RateLimited(max(1, ttl))


def check_invite(raw):
    """The usable invite for this code, or InvalidInput naming why it can't be used."""
    value = normalize_invite(raw)
    invite = db.session.execute(db.select(InviteCode).filter_by(code=value)).scalar_one_or_none()
    reason = None
    if invite is None or invite.status == "disabled":
        reason = _("This invite code is not valid.")
    elif invite.status == "expired":
        reason = _("This invite code has expired.")
    elif invite.status == "full":
        reason = _("This invite code has been used up.")
    if reason:
        _guard_guessing()
        raise InvalidInput({INVITE_FIELD: [reason]})
    return invite


def take_use(code, user):
    """Consume one use in the current transaction with one guarded UPDATE; raises if none left."""
    result = db.session.execute(
        update(InviteCode)
        .where(InviteCode.code == code, InviteCode.disabled.is_(False),
               InviteCode.used_cnt < InviteCode.all_cnt,
               or_(InviteCode.expire_date.is_(None), InviteCode.expire_date > utcnow()))
        .values(used_cnt=InviteCode.used_cnt + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvalidInput({INVITE_FIELD: [_("This invite code has been used up or is no longer valid.")]})
    invite_id = db.session.execute(db.select(InviteCode.id).filter_by(code=code)).scalar_one()
    db.session.add(InviteUse(invite_id=invite_id, user=user))


def create_invites(count=1, uses=1, expires=None, created_by=None, code=None):
    """Create `count` codes (or one admin-chosen `code`) allowing `uses` registrations each,
    usable through the day `expires` ('2026-12-31', UTC) when given; returns them."""
    if count < 1 or count > 500:
        raise InvalidInput({"count": [_("Create between 1 and 500 codes at a time.")]})
    if uses < 1 or uses > 100000:
        raise InvalidInput({"uses": [_("Uses must be between 1 and 100000.")]})
    expire_date = parse_expiry(expires)
    if expire_date is not None and expire_date <= utcnow():
        raise InvalidInput({"expires": [_("The expiry date must be in the future.")]})
    if code is not None:
        code = normalize_invite(code)
        if len(code) < 6:
            raise InvalidInput({"code": [_("A chosen code needs at least 6 characters.")]})
        if db.session.execute(db.select(InviteCode.id).filter_by(code=code)).first():
            raise InvalidInput({"code": [_("This code already exists.")]})
        count = 1
    invites = [InviteCode(code=code or generate_invite_code(), all_cnt=uses,
                          expire_date=expire_date, created_by=created_by) for _ in range(count)]
    db.session.add_all(invites)
    try:
        db.session.commit()
    except IntegrityError:  # the same code created meanwhile (the check above raced it)
        db.session.rollback()
        raise InvalidInput({"code": [_("This code already exists.")]}) from None
    audit.record("invite.created", actor=created_by,
                 detail={"count": count, "uses": uses, "expires": _last_day(expire_date)})
    return invites


def disable_invite(code, actor=None):
    """Disable a code; returns it, or None when it does not exist."""
    code = (code or "").strip().upper()
    if has_control_chars(code) or len(code) > 64:
        return None  # no stored code looks like this (and PostgreSQL refuses NUL in text)
    invite = db.session.execute(db.select(InviteCode).filter_by(code=code)).scalar_one_or_none()
    if invite is None:
        return None
    invite.disabled = True
    audit.record("invite.disabled", actor=actor, detail={"invite_id": invite.id})
    return invite


STATUSES = ("active", "full", "expired", "disabled")


def recent(status=None, limit=500):
    """The newest invite codes, optionally only those of one status (filtered in SQL)."""
    statement = db.select(InviteCode).order_by(InviteCode.id.desc()).limit(limit)
    if status:
        if status not in STATUSES:
            raise InvalidInput({"status": [_("Use one of: %(names)s.", names=", ".join(STATUSES))]},
                               status=400)
        now = utcnow()
        expired = and_(InviteCode.expire_date.is_not(None), InviteCode.expire_date <= now)
        full = InviteCode.used_cnt >= InviteCode.all_cnt
        statement = statement.where({
            "disabled": InviteCode.disabled.is_(True),
            "expired": and_(InviteCode.disabled.is_(False), expired),
            "full": and_(InviteCode.disabled.is_(False), not_(expired), full),
            "active": and_(InviteCode.disabled.is_(False), not_(expired), not_(full)),
        }[status])
    return db.session.execute(statement).scalars().all()


def describe(invite):
    """An invite as the admin API and pages show it, with who used it."""
    return {
        "code": invite.code, "uses": invite.all_cnt, "used": invite.used_cnt,
        "status": invite.status, "expires": _last_day(invite.expire_date),
        "created_at": iso(invite.created_at),
        "created_by": invite.created_by.username if invite.created_by else None,
        "users": [{"id": use.user_id, "username": use.user.username if use.user else None,
                   "used_at": iso(use.used_at)} for use in invite.uses],
    }


def parse_expiry(value):
    """'2026-12-31' means usable through that whole day (UTC): stored as its end."""
    from .audit_search import parse_day

    return parse_day(value, "expires", end=True) if value else None


def _last_day(expire_date):
    """The stored bound is the first moment the code no longer works; people give and read
    the last valid day, so that is what goes out (the same form as it came in)."""
    return (expire_date - timedelta(seconds=1)).date().isoformat() if expire_date else None
