"""Registration: pending registration in Redis -> emailed code -> confirmed user.

Each start is its own pending record under a random `registration_id` (128 bits) that only
its starter holds; the code mailed belongs to that record alone. A later registration for
the same address never replaces, voids or edits an earlier one; the first confirmation takes
the address (the database's unique constraint decides), and every other record for it then
answers as for a registered address.

A request for an address that already has an account does exactly the same work and
gets the same answer; the worker mails that address's owner a notice instead of a code.
"""

import json
import secrets
import time

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from .. import crypto, keys
from ..errors import CodeExpired, Conflict, InvalidInput, RateLimited, RegistrationClosed
from ..extensions import db, redis_client
from ..models import User, utcnow
from ..requestinfo import client_net
from . import audit, captcha, codes, invites, mail, passwords, sendlimits
from .validation import check_new_password, normalize_code, normalize_email, normalize_username


def _collect(fields, name, fn, *args):
    """Run one normaliser, gathering its field errors so all are reported at once."""
    try:
        return fn(*args)
    except InvalidInput as exc:
        for field, messages in exc.fields.items():
            fields.setdefault(field, []).extend(messages)
        if exc.status == 400:
            raise
        return None


def start_registration(email, username, password, invite_code=None, captcha_id=None,
                       captcha_answer=None, captcha_pow=None):
    """Validate, check captcha and limits, store the pending registration, queue the code."""
    mode = current_app.config["REGISTRATION_MODE"]
    if mode == "closed":
        raise RegistrationClosed()
    errors = {}
    email = _collect(errors, "email", normalize_email, email)
    username = _collect(errors, "username", normalize_username, username)
    if password is None or password == "":
        errors.setdefault("password", []).append(_("Please choose a password."))
    else:
        _collect(errors, "password", check_new_password, password, username, email)
    if mode == "invite":
        invite_code = _collect(errors, "invite_code", invites.normalize_invite, invite_code)
    if errors:
        raise InvalidInput(errors)
    with captcha.kept_if_limited(captcha_id, captcha_answer, captcha_pow):  # a 429 leaves it solved
        # The IP pays first: a "username taken" answer costs budget too, so usernames can't be
        # probed past the limit. A send the address's own limits refuse gives the IP's charge back.
        ip_charge = sendlimits.charge_send(None, client_net(), "register")
        if mode == "invite":
            invites.check_invite(invite_code)
        if db.session.execute(db.select(User.id).filter_by(username=username)).first():
            raise Conflict({"username": [_("This username is taken. Please choose another.")]})
        try:
            sendlimits.charge_send(email, None, "register")
        except RateLimited:
            sendlimits.refund(ip_charge)
            raise
    registration_id = secrets.token_urlsafe(16)
    pending = {
        "email": email,
        "username": username,
        "password_hash": passwords.hash_password(password),
        "invite_code": invite_code if mode == "invite" else None,
        "lang": mail.current_language(),
        "created": time.time(),
    }
    flow = _flow(registration_id)
    redis_client.set(keys.pending_registration(flow), json.dumps(pending, separators=(",", ":")),
                     ex=keys.pending_registration_ttl())
    _send(pending, flow)
    audit.record("register.requested", email=email, detail={"username": username})
    return dict(sendlimits.code_sent(email, "register", status="verification_sent"),
                registration_id=registration_id)


def _flow(registration_id):
    return crypto.token_hash(registration_id)[:32]


def code_owner(registration_id):
    """Whom a registration's code belongs to (its own id hash, not the address)."""
    return _flow(registration_id)


def pending_key(registration_id):
    """The Redis key of a registration's pending record (for measurements and tests)."""
    return keys.pending_registration(_flow(registration_id))


def _send(pending, flow):
    mail.send_code("register", pending["email"], flow=flow, context={"username": pending["username"]},
                   account=mail.IF_NO_ACCOUNT, alternate="already_registered")


def _pending(email, registration_id):
    """(flow, record) of a registration started for this address, or CodeExpired."""
    flow = _flow(registration_id or "")
    return flow, _record(redis_client.get(keys.pending_registration(flow)), email)


def _record(raw, email):
    record = json.loads(raw) if raw else None
    if record is None or record["email"] != email:
        raise CodeExpired(_("This registration has expired or is unknown. Please register again."))
    return record


def resend_code(email, registration_id):
    """A new code for this pending registration (within the address's and IP's limits).

    The record is read in the send limits' script, which charges nothing unless it is this
    address's registration: an unknown one is told so before any limit answer."""
    email = normalize_email(email)
    flow = _flow(registration_id or "")
    pending, _charge = sendlimits.charge_send(email, client_net(), "register", check=lambda raw: _record(raw, email),
                                              read=(keys.pending_registration(flow), "email", email))
    _send(pending, flow)
    return dict(sendlimits.code_sent(email, "register", status="verification_sent"),
                registration_id=registration_id)


def confirm_registration(email, code, registration_id):
    """Check the code and create the user (taking an invite use when required); returns it."""
    email = normalize_email(email)
    code = normalize_code(code)
    flow, _record = _pending(email, registration_id)
    codes.verify_code("register", email, code, flow=flow)
    raw = redis_client.getdel(keys.pending_registration(flow))
    if raw is None:
        raise CodeExpired()
    pending = json.loads(raw)
    now = utcnow()
    user = User(email=email, username=pending["username"], password_hash=pending["password_hash"],
                email_verified_at=now, password_changed_at=now, locale=pending.get("lang"),
                last_login_at=now)
    db.session.add(user)
    try:
        if pending.get("invite_code"):
            invites.take_use(pending["invite_code"], user)
        db.session.flush()
    except InvalidInput:
        db.session.rollback()
        audit.record("register.failed", "failure", email=email, detail={"reason": "invite_used_up"})
        raise
    except IntegrityError:
        db.session.rollback()
        audit.record("register.failed", "failure", email=email, detail={"reason": "conflict"})
        taken = db.session.execute(db.select(User.id).filter_by(username=pending["username"])).first()
        if taken:
            raise Conflict({"username": [
                _("This username was taken meanwhile. Please register again with another.")]}) from None
        raise Conflict(message=_("This email address is already registered. Please sign in.")) from None
    audit.record("register.confirmed", user=user, detail={"invite": bool(pending.get("invite_code"))})
    return user
