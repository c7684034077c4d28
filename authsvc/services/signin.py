"""Sign-in: password (with lockout and captcha after failures), emailed code, second step.

Unknown logins, wrong passwords and inactive accounts get one answer and cost one bcrypt
verification each; failures are counted per account *and* per unknown login name, so lockout
and the captcha requirement reveal nothing about which accounts exist.
"""

from flask import current_app
from sqlalchemy import func

from .. import crypto, keys
from ..errors import AccountLocked, CodeExpired, Forbidden, InvalidInput, ReauthLocked
from ..extensions import db, redis_client
from ..models import User
from ..requestinfo import client_net
from . import (attempts, audit, captcha, codes, devices, factors, mail, metrics, passkey_signin, passkeys,
               passwords, second_step, sendlimits, tokens)
from .validation import normalize_code, normalize_email, normalize_login

SignedIn, SecondFactorChallenge = second_step.SignedIn, second_step.SecondFactorChallenge


def find_user(login):
    """The account for an email or username (case-insensitive), or None."""
    column = User.email if "@" in login else User.username
    return db.session.execute(db.select(User).where(func.lower(column) == login)).scalar_one_or_none()


def _subject(login, user):
    return f"u{user.id}" if user else f"n{crypto.keyed_hash('login', login)[:24]}"


def captcha_needed():
    """Whether the sign-in page shows a captcha now (from this client network's failures)."""
    rule = attempts.captcha_rule(captcha.enabled())
    if rule != 1:
        return rule == 2
    threshold = current_app.config["LOGIN_CAPTCHA_AFTER"]
    return attempts.net_failures_seen() >= threshold


def lock_remaining(subject):
    return max(0, int(redis_client.ttl(keys.lockout(subject))))


def password_login(login, password, captcha_id=None, captcha_answer=None, device_token=None,
                   captcha_pow=None):
    """Check a password; returns SignedIn, or a SecondFactorChallenge, or raises."""
    login = normalize_login(login)
    if not password:
        raise InvalidInput({"password": [_password_required()]})
    user = find_user(login)
    subject = _subject(login, user)
    try:
        slot = attempts.reserve(subject, attempts.captcha_rule(captcha.enabled()),
                                has_captcha=captcha.offered(captcha_id, captcha_pow))
    except AccountLocked:
        metrics.LOGINS.labels("password", "locked").inc()
        raise
    if slot.captcha_due:
        try:
            captcha.check_captcha(captcha_id, captcha_answer, captcha_pow)
        except Exception:
            attempts.settle(slot, "void")  # a wrong captcha is not a password failure
            raise
    attempts.check_password(slot, user, password, login)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    if (enrolled := factors.second_step(user)) is not None:  # asked in every mode (factors.py)
        return second_step.start(user, enrolled, first="password", device_token=device_token)
    if second_step.required(user, device_token):
        return second_step.start(user, second_step.CODE)
    return second_step.signed_in(user, _recognise_device(user, device_token), "password")


def _recognise_device(user, device_token):
    """Keep a known device's token; remember a new device (and tell the owner if asked to)."""
    config = current_app.config
    if config["LOGIN_SECOND_FACTOR"] != "new_device" and not config["NOTIFY_NEW_DEVICE"]:
        return None  # nothing asks which devices are known: don't track them
    if devices.is_known(user, device_token):
        return device_token
    if current_app.config["NOTIFY_NEW_DEVICE"]:
        mail.new_device(user)
    return devices.remember(user)


def _password_required():
    from flask_babel import gettext as _

    return _("Please enter your password.")


def clear_lockout(user):
    """Forget failures and lift a lockout (after a reset by code, or by an admin)."""
    subject = f"u{user.id}"
    redis_client.delete(keys.lockout(subject), keys.login_failures(subject), keys.login_inflight(subject))


def is_locked(user):
    return lock_remaining(f"u{user.id}") > 0


def are_locked(users):
    """is_locked for each of `users`, in one round trip (the admin's user list)."""
    pipe = redis_client.pipeline(transaction=False)
    for user in users:
        pipe.ttl(keys.lockout(f"u{user.id}"))
    return [int(ttl) > 0 or int(ttl) == -1 for ttl in pipe.execute()] if users else []


def complete_second_factor(challenge, code=None, password=None, totp=None, recovery_code=None, passkey=None):
    """Finish a sign-in with its second step (an emailed code, the password after a code, a
    passkey, the authenticator app or a recovery code)."""
    return second_step.complete(challenge, code=code, password=password, totp=totp, recovery_code=recovery_code,
                                passkey=passkey)


def second_step_passkey_options(challenge):
    return second_step.passkey_options(challenge)


# --- passkey sign-in: a whole sign-in, phishing-resistant, no password and no second step ----
def passkey_options():
    """Options for any discoverable passkey of this site (no login name: the passkey says who)."""
    return passkey_signin.authentication_options(passkey_signin.SIGN_IN)


def passkey_login(challenge_id, credential, device_token=None):
    """Sign in with a passkey alone (user verification on the device makes it two factors in
    itself); the lockout, deactivation and audit apply as to a password. Returns SignedIn."""
    try:
        user, row = passkey_signin.authenticate(challenge_id, credential, passkey_signin.SIGN_IN)
    except AccountLocked:
        metrics.LOGINS.labels("passkey", "locked").inc()
        raise
    audit.record("factor.used", user=user, detail={"kind": "passkey", "passkey": row.id, "stage": "sign_in"})
    result = second_step.signed_in(user, _recognise_device(user, device_token), "passkey")
    result.factor = "passkey"  # phishing-resistant on its own: counts as a fresh second factor
    return result


def resend_second_factor(challenge):
    return second_step.resend(challenge)


def _code_login_allowed():
    if not current_app.config["LOGIN_BY_CODE"]:
        from flask_babel import gettext as _

        raise Forbidden(_("Sign-in by emailed code is switched off. Please sign in with your password."))


def request_login_code(email, captcha_id=None, captcha_answer=None, captcha_pow=None):
    """Send a sign-in code; the same answer and work whether or not the account exists."""
    _code_login_allowed()
    email = normalize_email(email)
    with captcha.kept_if_limited(captcha_id, captcha_answer, captcha_pow):
        sendlimits.charge_send(email, client_net(), "login")
    # issued either way, so verifying a guess behaves alike for every address
    mail.send_code("login", email, account=mail.IF_ACCOUNT)
    return sendlimits.code_sent(email, "login")


def code_login(email, code, device_token=None):
    """Sign in with an emailed code; returns SignedIn (code-only) or, when a second step is
    due, a SecondFactorChallenge for the password."""
    _code_login_allowed()
    email = normalize_email(email)
    code = normalize_code(code)
    codes.verify_code("login", email, code)
    user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()
    if user is None or not user.active:
        raise CodeExpired()
    if (enrolled := factors.second_step(user)) is not None:  # the app, even after a code
        return second_step.start(user, enrolled, first="code", device_token=device_token)
    if second_step.required(user, device_token):
        return second_step.start(user, second_step.PASSWORD, first="code")
    return second_step.signed_in(user, device_token if devices.is_known(user, device_token) else None, "code")


def sign_out(user, kind, token_hash=None):
    """Audit a sign-out; for an API token also revoke it (a browser session is ended by the
    web layer, which owns the cookie)."""
    if token_hash:
        tokens.revoke(user.id, token_hash, "api")
    audit.record("logout", user=user, detail={"kind": kind})


def has_passkeys(user):
    return bool(passkeys.of(user))


def confirm_passkey_options(user):
    """Options for confirming it is the signed-in user with one of his passkeys (instead of the
    password before a sensitive change)."""
    if not passkeys.of(user):
        raise InvalidInput(message=_passkey_none(), status=400)
    return passkey_signin.authentication_options(passkey_signin.CONFIRM, user, uid=user.id)


def confirm_with_passkey(user, challenge_id, credential):
    """A fresh passkey use in place of the password (the lockout applies alike)."""
    _owner, row = passkey_signin.authenticate(challenge_id, credential, passkey_signin.CONFIRM, user=user, uid=user.id)
    audit.record("reauth.passkey", user=user, detail={"passkey": row.id})
    return True


def _passkey_none():
    from flask_babel import gettext as _

    return _("No passkey is set up.")


def reauthenticate(user, password):
    """Confirm the password of a signed-in user; failures count like sign-in failures.

    While the account is locked the password is not checked at all (a lock gives no oracle);
    the refusal is audited and says when to try again and what else works meanwhile. The
    caller's session stays: it was made by code or password, which the lock does not undo.
    """
    try:
        slot = attempts.reserve(f"u{user.id}")
    except AccountLocked as locked:
        audit.record("reauth.locked", "failure", user=user, detail={"seconds": locked.retry_after})
        raise ReauthLocked(locked.retry_after) from None
    try:
        attempts.check_password(slot, user, password, user.email)
    except AccountLocked as locked:  # this failure set the lock (audited as login.locked)
        raise ReauthLocked(locked.retry_after) from None
    return True
