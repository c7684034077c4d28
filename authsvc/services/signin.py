"""Sign-in: password (with lockout and captcha after failures), emailed code, second step.

Unknown logins, wrong passwords and inactive accounts get one answer and cost one bcrypt
verification each; failures are counted per account *and* per unknown login name, so lockout
and the captcha requirement reveal nothing about which accounts exist.
"""

import json
import secrets
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func

from .. import crypto, keys
from ..errors import (AccountLocked, CaptchaRequired, CodeExpired, Forbidden, InvalidCredentials,
                      InvalidInput)
from ..extensions import db, redis_client
from ..models import User, utcnow
from ..requestinfo import client_net
from . import attempts, audit, captcha, codes, devices, mail, metrics, notices, passwords, sendlimits
from .validation import mask_email, normalize_code, normalize_email, normalize_login


@dataclass
class SignedIn:
    user: User
    device_token: str


@dataclass
class SecondFactorChallenge:
    challenge: str
    email: str
    expires_in: int


def find_user(login):
    """The account for an email or username (case-insensitive), or None."""
    column = User.email if "@" in login else User.username
    return db.session.execute(db.select(User).where(func.lower(column) == login)).scalar_one_or_none()


def _subject(login, user):
    return f"u{user.id}" if user else f"n{crypto.keyed_hash('login', login)[:24]}"


def captcha_needed(subject=None):
    """Whether a password attempt must carry a solved captcha now (what the page shows)."""
    rule = attempts.captcha_rule(captcha.enabled())
    if rule != 1:
        return rule == 2
    threshold = current_app.config["LOGIN_CAPTCHA_AFTER"]
    account, net = attempts.failures_seen(subject)
    return net >= threshold or (subject is not None and account >= threshold)


def lock_remaining(subject):
    return max(0, int(redis_client.ttl(keys.lockout(subject))))


def password_login(login, password, captcha_id=None, captcha_answer=None, device_token=None):
    """Check a password; returns SignedIn, or a SecondFactorChallenge, or raises."""
    login = normalize_login(login)
    if not password:
        raise InvalidInput({"password": [_password_required()]})
    user = find_user(login)
    subject = _subject(login, user)
    try:
        slot = attempts.reserve(subject, attempts.captcha_rule(captcha.enabled()),
                                has_captcha=bool(captcha_id))
    except AccountLocked:
        metrics.LOGINS.labels("password", "locked").inc()
        raise
    if slot.captcha_due:
        try:
            captcha.check_captcha(captcha_id, captcha_answer)
        except Exception:
            attempts.settle(slot, "void")  # a wrong captcha is not a password failure
            raise
    _check_password(slot, user, password, login)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    if _second_factor_required(user, device_token):
        return _start_second_factor(user)
    return SignedIn(user, _recognise_device(user, device_token))


def _check_password(slot, user, password, login):
    """bcrypt inside the slot; settle it; raise InvalidCredentials or AccountLocked on failure."""
    try:
        if user is None:
            passwords.burn_verification(password)
            ok = False
        else:
            ok = bool(password) and passwords.verify_password(password, user.password_hash)
    except Exception:
        attempts.settle(slot, "void")
        raise
    if ok and user.active:
        attempts.settle(slot, "ok")
        return
    reason = "unknown_user" if user is None else ("wrong_password" if not ok else "inactive")
    failures, locked = attempts.settle(slot, "fail")
    metrics.LOGINS.labels("password", "failure").inc()
    email = user.email if user else (login if "@" in login else None)
    audit.record("login.failure", "failure", user=user, email=email,
                 detail={"reason": reason, "failures": failures})
    if locked:
        ttl = keys.lockout_ttl()
        audit.record("login.locked", "failure", user=user, email=email, detail={"seconds": ttl})
        if user is not None:
            notices.security_alert(user, "lockout", minutes=ttl // 60)
        raise AccountLocked(ttl)
    raise InvalidCredentials()


def _recognise_device(user, device_token):
    """Keep a known device's token; remember a new device (and tell the owner if asked to)."""
    config = current_app.config
    if config["LOGIN_SECOND_FACTOR"] != "new_device" and not config["NOTIFY_NEW_DEVICE"]:
        return None  # nothing asks which devices are known: don't track them
    if devices.is_known(user, device_token):
        return device_token
    if current_app.config["NOTIFY_NEW_DEVICE"]:
        notices.new_device(user)
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


def _second_factor_required(user, device_token):
    mode = current_app.config["LOGIN_SECOND_FACTOR"]
    if mode == "always":
        return True
    return mode == "new_device" and not devices.is_known(user, device_token)


def _start_second_factor(user):
    challenge = secrets.token_urlsafe(32)
    record = {"uid": user.id, "epoch": user.auth_epoch, "at": time.time()}
    sendlimits.charge_send(user.email, client_net(), "second_factor")
    redis_client.set(keys.challenge(crypto.token_hash(challenge)), json.dumps(record),
                     ex=keys.challenge_ttl())
    mail.send_code("second_factor", user.email, account=mail.IF_ACCOUNT)
    audit.record("login.second_factor", user=user, detail={"step": "code_sent"})
    return SecondFactorChallenge(challenge, mask_email(user.email), keys.challenge_ttl())


def _challenge_user(challenge):
    raw = redis_client.get(keys.challenge(crypto.token_hash(challenge or "")))
    if raw is None:
        raise CodeExpired()
    record = json.loads(raw)
    user = db.session.get(User, record["uid"])
    if user is None or not user.active or user.auth_epoch != record["epoch"]:
        raise CodeExpired()
    return user


def complete_second_factor(challenge, code):
    """Finish a password sign-in with its emailed code; returns SignedIn."""
    code = normalize_code(code)
    user = _challenge_user(challenge)
    codes.verify_code("second_factor", user.email, code)
    redis_client.delete(keys.challenge(crypto.token_hash(challenge)))
    return SignedIn(user, devices.remember(user))


def resend_second_factor(challenge):
    """A new code for a pending second step (within the send limits)."""
    user = _challenge_user(challenge)
    sendlimits.charge_send(user.email, client_net(), "second_factor")
    mail.send_code("second_factor", user.email, account=mail.IF_ACCOUNT)
    return mask_email(user.email)


def _code_login_allowed():
    if not current_app.config["LOGIN_BY_CODE"]:
        from flask_babel import gettext as _

        raise Forbidden(_("Sign-in by emailed code is switched off. Please sign in with your password."))


def request_login_code(email, captcha_id=None, captcha_answer=None):
    """Send a sign-in code; the same answer and work whether or not the account exists."""
    _code_login_allowed()
    email = normalize_email(email)
    captcha.check_captcha(captcha_id, captcha_answer)
    sendlimits.charge_send(email, client_net(), "login")
    # issued either way, so verifying a guess behaves alike for every address
    mail.send_code("login", email, account=mail.IF_ACCOUNT)
    return sendlimits.code_sent(email, "login")


def code_login(email, code):
    """Sign in with an emailed code alone; returns the User (a code-only session)."""
    _code_login_allowed()
    email = normalize_email(email)
    code = normalize_code(code)
    codes.verify_code("login", email, code)
    user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()
    if user is None or not user.active:
        raise CodeExpired()
    return user


def record_success(user, method):
    """Bookkeeping shared by every way in: last login, metrics, audit."""
    user.last_login_at = utcnow()
    metrics.LOGINS.labels(method, "success").inc()
    audit.record("login.success", user=user, detail={"method": method})


def reauthenticate(user, password):
    """Confirm the password of a signed-in user; failures count like sign-in failures."""
    slot = attempts.reserve(f"u{user.id}")
    _check_password(slot, user, password, user.email)
    return True
