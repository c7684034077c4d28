"""Registration: pending registration in Redis -> emailed code -> confirmed user.

A request for an address that already has an account does exactly the same work and
gets the same answer; the worker mails that address's owner a notice instead of a code.
"""

import json
import time

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from .. import crypto, keys
from ..errors import CodeExpired, Conflict, InvalidInput, RegistrationClosed
from ..extensions import db, redis_client
from ..models import User, utcnow
from ..requestinfo import client_ip
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
                       captcha_answer=None):
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
    captcha.check_captcha(captcha_id, captcha_answer)
    if mode == "invite":
        invites.check_invite(invite_code)
    if db.session.execute(db.select(User.id).filter_by(username=username)).first():
        raise Conflict({"username": [_("This username is taken. Please choose another.")]})
    sendlimits.charge_send(email, client_ip(), "register")
    pending = {
        "email": email,
        "username": username,
        "password_hash": passwords.hash_password(password),
        "invite_code": invite_code if mode == "invite" else None,
        "lang": mail.current_language(),
        "created": time.time(),
    }
    redis_client.set(keys.pending_registration(crypto.address_id(email)), json.dumps(pending),
                     ex=keys.pending_registration_ttl())
    mail.send_code("register", email, account=mail.IF_NO_ACCOUNT, alternate="already_registered")
    audit.record("register.requested", email=email, detail={"username": username})
    return sendlimits.code_sent(email, "register", status="verification_sent")


def resend_code(email):
    """A new code for a pending registration; the same answer whether or not one exists."""
    email = normalize_email(email)
    sendlimits.charge_send(email, client_ip(), "register")
    if redis_client.exists(keys.pending_registration(crypto.address_id(email))):
        mail.send_code("register", email, account=mail.IF_NO_ACCOUNT, alternate="already_registered")
    return sendlimits.code_sent(email, "register", status="verification_sent")


def confirm_registration(email, code):
    """Check the code and create the user (taking an invite use when required); returns it."""
    email = normalize_email(email)
    code = normalize_code(code)
    codes.verify_code("register", email, code)
    raw = redis_client.getdel(keys.pending_registration(crypto.address_id(email)))
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
