"""Reset a forgotten password by code; change password; change email.

A reset request does the same work for every address (the worker decides whether a mail
goes out), so its answer and timing say nothing about which addresses have accounts.
"""

import json

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from .. import keys
from ..errors import CodeExpired, Conflict, InvalidCredentials, InvalidInput
from ..extensions import db, redis_client
from ..models import User, utcnow
from ..requestinfo import client_net
from . import (audit, captcha, codes, devices, email_undo, factors, forward_auth, mail, passwords, second_step,
               sendlimits, signin, tokens)
from .validation import check_new_password, mask_email, normalize_code, normalize_email


def request_reset(email, captcha_id=None, captcha_answer=None, captcha_pow=None):
    """Send a reset code if the address has an account; the same answer either way."""
    email = normalize_email(email)
    with captcha.kept_if_limited(captcha_id, captcha_answer, captcha_pow):
        sendlimits.charge_send(email, client_net(), "reset")
    mail.send_code("reset", email, account=mail.IF_ACCOUNT)
    audit.record("password.reset_requested", email=email)
    return sendlimits.code_sent(email, "reset")


def send_reset_for(user, actor):
    """An admin sends a reset code on the user's behalf (the admin never sets a password)."""
    mail.send_code("reset", user.email, account=mail.IF_ACCOUNT, lang=user.locale)
    audit.record("admin.reset_sent", user=user, actor=actor)


def _require_password(value, field):
    if not value:
        raise InvalidInput({field: [_("Please choose a password.")]})


def _set_password(user, new_password, field):
    if passwords.verify_password(new_password, user.password_hash):
        raise InvalidInput({field: [_("Choose a password different from the current one.")]})
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()


def confirm_reset(email, code, new_password):
    """Set a new password with a reset code; ends every session and token.

    Returns (user, SignedIn or None): signed in when AUTO_LOGIN_AFTER_RESET is on.
    """
    email = normalize_email(email)
    code = normalize_code(code)
    _require_password(new_password, "new_password")
    # The policy is checked before the code is spent, so a weak choice costs no new code;
    # the username part waits until the code proved the address, so it reveals no account.
    check_new_password(new_password, None, email, field="new_password")
    codes.verify_code("reset", email, code)
    user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()
    if user is None or not user.active:
        raise CodeExpired()
    check_new_password(new_password, user.username, email, field="new_password")
    _set_password(user, new_password, "new_password")
    tokens.end_all(user)
    devices.forget_all(user)
    signin.clear_lockout(user)
    audit.record("password.reset", user=user)
    mail.security_alert(user, "password_reset")
    # a reset proves the mailbox only: with a factor enrolled, sign-in still asks for it
    if current_app.config["AUTO_LOGIN_AFTER_RESET"] and factors.second_step(user) is None:
        return user, second_step.signed_in(user, None, "password", via="reset")
    return user, None


def change_password(user, current_password, new_password, keep=None):
    """Change a signed-in user's password; other sessions and tokens end, `keep` survives."""
    _require_password(new_password, "new_password")
    check_new_password(new_password, user.username, user.email, field="new_password")
    try:
        signin.reauthenticate(user, current_password)
    except InvalidCredentials:
        raise InvalidInput({"current_password": [_("The current password is wrong.")]},
                           status=400) from None
    _set_password(user, new_password, "new_password")
    tokens.end_all(user, keep=keep)
    audit.record("password.changed", user=user)
    mail.security_alert(user, "password_changed")
    return user


def request_email_change(user, password, new_email):
    """Send a code to the new address (or, if it has an account, a notice to its owner)."""
    new_email = normalize_email(new_email, field="new_email")
    if new_email == user.email:
        raise InvalidInput({"new_email": [_("This is already your email address.")]})
    try:
        signin.reauthenticate(user, password)
    except InvalidCredentials:
        raise InvalidInput({"password": [_("The password is wrong.")]}, status=400) from None
    sendlimits.charge_send(new_email, client_net(), "change_email")
    redis_client.set(keys.pending_email_change(user.id), json.dumps({"email": new_email}),
                     ex=keys.pending_email_change_ttl())
    mail.send_code("change_email", new_email, account=mail.IF_NO_ACCOUNT, alternate="email_in_use")
    audit.record("email.change_requested", user=user, detail={"new_email": mask_email(new_email)})
    return sendlimits.code_sent(new_email, "change_email")


def pending_email(user):
    raw = redis_client.get(keys.pending_email_change(user.id))
    return json.loads(raw)["email"] if raw else None


def confirm_email_change(user, code):
    """Switch to the pending address with its code; the old address gets a notice."""
    code = normalize_code(code)
    new_email = pending_email(user)
    if new_email is None:
        raise CodeExpired()
    codes.verify_code("change_email", new_email, code)
    redis_client.delete(keys.pending_email_change(user.id))
    old_email = user.email
    user.email = new_email
    user.email_verified_at = utcnow()
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict({"new_email": [_("This address is now in use by another account.")]}) from None
    audit.record("email.changed", user=user, detail={"old": mask_email(old_email)})
    forward_auth.refresh_claims(user)  # apps behind the proxy see the new address at once
    # The old address gets a way back, not "reset your password": a reset code would go to
    # the new address, which may be the intruder's.
    mail.security_alert(user, "email_changed", to=old_email, new_email=mask_email(new_email),
                        undo_url=email_undo.issue(user, old_email, new_email),
                        undo_days=current_app.config["EMAIL_UNDO_DAYS"])
    return user
