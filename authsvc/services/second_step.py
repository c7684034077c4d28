"""The second step of a sign-in: when it is due, starting it, finishing it.

Which steps a sign-in takes (docs/security.md has the matrix):

    LOGIN_SECOND_FACTOR   first step   second step
    off                   password     -
    off                   code         - (a code-only session: the password before security changes)
    always                password     emailed code
    always                code         password
    new_device (known)    password     -
    new_device (known)    code         - (code-only session)
    new_device (new)      password     emailed code
    new_device (new)      code         password

With a passkey or an authenticator app enrolled (factors.py), every password or code sign-in
asks for the strongest of them instead (passkey, then app), in every mode, a recovery code (and
beside a passkey the app) accepted in its place; after a code the session
still counts as a code-only one (the password is asked before security changes).

A challenge is a random id (its hash keys the Redis record) naming the user, his auth epoch
and the step still due. It is consumed once: of two parallel right answers one signs in.
"""

import json
import secrets
import time
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from .. import crypto, keys
from ..errors import CodeExpired, InvalidInput
from ..extensions import db, redis_client
from ..models import User, utcnow
from ..requestinfo import client_net
from . import attempts, audit, codes, devices, factors, mail, metrics, passkey_signin, sendlimits
from .validation import mask_email, normalize_code

CODE, PASSWORD, TOTP, PASSKEY = "code", "password", factors.TOTP, factors.PASSKEY
FACTORS = (TOTP, PASSKEY)
FULL = ("password", "passkey")  # sessions that count as password-confirmed (not code-only)


@dataclass
class SignedIn:
    user: User
    device_token: str
    method: str = "password"  # "code" for a code-only sign-in, "passkey" for a passkey alone
    recovery_codes_remaining: int | None = None  # set when a recovery code was used
    factor: str | None = None  # the second factor this sign-in passed (totp, recovery_code, passkey)
    steps: int = 1  # 2 after a second step (a strong sign-in for forward-auth's fresh=N hosts)


@dataclass
class SecondFactorChallenge:
    challenge: str
    email: str
    expires_in: int
    step: str = CODE
    alternatives: tuple = ()  # e.g. ("recovery_code",) beside the app


def signed_in(user, device_token, method, via=None):
    """Every way in ends here: last sign-in time, metrics and the audit row, then the result.

    `method` is what the session counts as (password, or code for a code-only session);
    `via` what was used, for the audit (e.g. code+password).
    """
    user.last_login_at = utcnow()
    metrics.LOGINS.labels(method, "success").inc()
    audit.record("login.success", user=user, detail={"method": via or method})
    return SignedIn(user, device_token, method)


def required(user, device_token):
    """Whether a sign-in of this user from this device must pass a second step."""
    mode = current_app.config["LOGIN_SECOND_FACTOR"]
    if mode == "always":
        return True
    return mode == "new_device" and not devices.is_known(user, device_token)


def start(user, step, first="password", device_token=None):
    """Open a challenge for `step` after the `first` step; a code step mails the code (within
    the send limits). An app step keeps a known `device_token` for the end of the sign-in."""
    challenge = secrets.token_urlsafe(32)
    record = {"uid": user.id, "epoch": user.auth_epoch, "at": time.time(), "step": step, "first": first}
    if step in FACTORS and devices.is_known(user, device_token):
        record["device"] = device_token
    if step == CODE:
        sendlimits.charge_send(user.email, client_net(), "second_factor")
    redis_client.set(keys.challenge(crypto.token_hash(challenge)), json.dumps(record),
                     ex=keys.challenge_ttl())
    if step == CODE:
        mail.send_code("second_factor", user.email, account=mail.IF_ACCOUNT)
    audit.record("login.second_factor", user=user, detail={"step": _STARTED[step]})
    return SecondFactorChallenge(challenge, mask_email(user.email), keys.challenge_ttl(), step,
                                 tuple(factors.alternatives(user, step)) if step in FACTORS else ())


_STARTED = {CODE: "code_sent", PASSWORD: "password_required", TOTP: "app_required", PASSKEY: "passkey_required"}


def passkey_options(challenge):
    """WebAuthn options for a pending passkey step (each answer uses its challenge up: a new
    try asks again). Bound to this second step: no other sign-in can use them."""
    user, step, _first, _device = _pending(challenge)
    if step != PASSKEY:
        raise InvalidInput(message=_("This step does not ask for a passkey."), status=400)
    return passkey_signin.authentication_options(passkey_signin.SECOND_STEP, user, step=crypto.token_hash(challenge))


def _pending(challenge):
    raw = redis_client.get(keys.challenge(crypto.token_hash(challenge or "")))
    if raw is None:
        raise CodeExpired()
    record = json.loads(raw)
    user = db.session.get(User, record["uid"])
    if user is None or not user.active or user.auth_epoch != record["epoch"]:
        raise CodeExpired()
    return user, record.get("step", CODE), record.get("first", "password"), record.get("device")


def complete(challenge, code=None, password=None, totp=None, recovery_code=None, passkey=None):
    """Finish a sign-in with the step its challenge is waiting for; returns SignedIn.
    `passkey`: (challenge_id, credential) answering passkey_options."""
    user, step, first, device = _pending(challenge)
    used = {}
    if step in FACTORS:
        if step == TOTP and passkey:
            raise InvalidInput({"totp": [_("Please enter the 6-digit code from your authenticator app.")]}, status=400)
        answer = (*passkey, crypto.token_hash(challenge)) if passkey and all(passkey) else None
        if step == PASSKEY and not (answer or totp or recovery_code):
            raise InvalidInput({"credential": [_("Please confirm with your passkey.")]}, status=400)
        if step == PASSKEY and totp and TOTP not in factors.alternatives(user, step):
            raise InvalidInput({"totp": [_("No authenticator app is set up.")]}, status=400)
        used = factors.verify(user, totp, recovery_code, passkey=answer)
    elif step == CODE:
        if not code:
            raise InvalidInput({"code": [_("Please enter the 6-digit code from the email.")]}, status=400)
        codes.verify_code("second_factor", user.email, normalize_code(code))
    else:
        if not password:
            raise InvalidInput({"password": [_("Please enter your password.")]}, status=400)
        attempts.check_password(attempts.reserve(f"u{user.id}"), user, password, user.email)
    # consumed once: a second right answer racing this one finds nothing to finish
    if not redis_client.delete(keys.challenge(crypto.token_hash(challenge))):
        raise CodeExpired()
    audit.record("login.second_factor", user=user, detail={"step": f"{used.get('used', step)}_passed"})
    if step in FACTORS:  # the session is what the first step made it: a code alone stays code-only
        result = signed_in(user, device or _new_device(user), first, via=f"{first}+{used['used']}")
        result.recovery_codes_remaining = used.get("recovery_codes_remaining")
        result.factor = used["used"]
    else:
        result = signed_in(user, devices.remember(user), "password",
                           via="password+code" if step == CODE else "code+password")
    result.steps = 2
    return result


def _new_device(user):
    """A device that passed the app step for the first time: remembered, the owner told when
    NOTIFY_NEW_DEVICE asks for it (as after a password alone)."""
    if current_app.config["NOTIFY_NEW_DEVICE"]:
        mail.new_device(user)
    return devices.remember(user)


def resend(challenge):
    """A new code for a pending code step (within the send limits); returns the masked address."""
    user, step, _first, _device = _pending(challenge)
    if step != CODE:
        raise InvalidInput(message=_("This step asks for your password, not a code.") if step == PASSWORD
                           else _("This step asks for your passkey; no mail is sent.") if step == PASSKEY
                           else _("This step asks for the code from your authenticator app; no mail is sent."),
                           status=400)
    sendlimits.charge_send(user.email, client_net(), "second_factor")
    mail.send_code("second_factor", user.email, account=mail.IF_ACCOUNT)
    return mask_email(user.email)


def challenge_user(challenge):
    """The user a pending challenge belongs to, or None (expired, used, or the user changed)."""
    try:
        return _pending(challenge)[0]
    except CodeExpired:
        return None
