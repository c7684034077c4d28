"""Authenticator app (TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps): enrol, check, remove.

Enrolment: a fresh 160-bit secret waits in Redis (sealed, TOTP_ENROLMENT_TTL) until a code
from the app proves it was scanned; only then is it stored, sealed with the current factor
key (crypto.seal_factor, bound to the user) in `totp_factors`.

A code is accepted for the current step and one step either side (±30 s of clock drift), and
never twice: the row's `last_step` only rises, through one conditional UPDATE, so of two
requests carrying the same code (or an older one) exactly one wins, in any number of
processes, on SQLite and PostgreSQL alike. Counting wrong codes is factors.py's business.
"""

import hmac
import time

import pyotp
import segno
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from .. import crypto, keys
from ..errors import CodeExpired, Conflict, WrongFactorCode
from ..extensions import db, redis_client
from ..models import TotpFactor, utcnow
from . import audit

STEP_SECONDS = 30
DRIFT_STEPS = 1
OK, WRONG, REPLAYED = "ok", "wrong", "replayed"


def factor(user):
    """The user's confirmed authenticator app, or None."""
    return db.session.get(TotpFactor, user.id)


def _context(user):
    return f"totp:{user.id}"


def grouped(secret):
    """The secret in groups of four, as people type it."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def start_enrolment(user):
    """A secret to scan or type (the pending one again while it lasts); refuses a second app."""
    if factor(user) is not None:
        raise Conflict(message=_("An authenticator app is already set up. Remove it first to set up another one."))
    key = keys.totp_enrolment(user.id)
    sealed = redis_client.get(key)
    secret = crypto.unseal(sealed).decode() if sealed else pyotp.random_base32(32)
    redis_client.set(key, crypto.seal(secret.encode()), ex=keys.TOTP_ENROLMENT_TTL)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=current_app.config["SITE_NAME"])
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#1f2328", light="#ffffff", omitsize=True,
                                                title=_("QR code for your authenticator app"))
    return {"secret": secret, "secret_grouped": grouped(secret), "otpauth_uri": uri, "qr_svg": svg,
            "expires_in": keys.TOTP_ENROLMENT_TTL}


def matching_step(secret, code, now=None):
    """The step (counter) whose code `code` is, within ±DRIFT_STEPS of now; None otherwise."""
    code = "".join((code or "").split()).replace("-", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    return found


def confirm_enrolment(user, code):
    """Store the pending secret once a code from it is right; returns the step it used."""
    key = keys.totp_enrolment(user.id)
    sealed = redis_client.get(key)
    if sealed is None:
        raise CodeExpired(_("The set-up has expired. Please start again and scan the new QR code."))
    secret = crypto.unseal(sealed).decode()
    step = matching_step(secret, code)
    if step is None:
        audit.record("factor.failed", "failure", user=user, detail={"kind": "totp", "stage": "enrol"})
        raise WrongFactorCode()
    if not redis_client.delete(key):  # a parallel confirmation of the same set-up won
        raise CodeExpired(_("The set-up has expired. Please start again and scan the new QR code."))
    key_id, sealed_secret = crypto.seal_factor(secret, _context(user))
    try:
        with db.session.begin_nested():
            db.session.add(TotpFactor(user_id=user.id, secret=sealed_secret, key_id=key_id, last_step=step))
    except IntegrityError:
        raise Conflict(message=_("An authenticator app is already set up. Remove it first to set up another one.")) from None
    audit.record("factor.enrolled", user=user, detail={"kind": "totp"})
    return step


def check(user, code, now=None):
    """OK (and the step is spent), WRONG, or REPLAYED (right code, step already used)."""
    row = factor(user)
    if row is None:
        return WRONG
    secret = crypto.open_factor(row.key_id, row.secret, _context(user))
    step = matching_step(secret, code, now)
    if step is None:
        return WRONG
    spent = db.session.execute(
        update(TotpFactor)
        .where(TotpFactor.user_id == user.id, or_(TotpFactor.last_step.is_(None), TotpFactor.last_step < step))
        .values(last_step=step, last_used_at=utcnow())
        .execution_options(synchronize_session=False))
    if spent.rowcount != 1:
        return REPLAYED
    current_key = crypto.factor_ring()[0]
    if row.key_id != current_key:  # rotation: re-sealed under the current key as it is used
        key_id, sealed_secret = crypto.seal_factor(secret, _context(user))
        db.session.execute(update(TotpFactor).where(TotpFactor.user_id == user.id)
                           .values(key_id=key_id, secret=sealed_secret)
                           .execution_options(synchronize_session=False))
    return OK


def remove(user):
    """Delete the app (and any set-up in progress); True when there was one."""
    redis_client.delete(keys.totp_enrolment(user.id))
    row = factor(user)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    audit.record("factor.removed", user=user, detail={"kind": "totp"})
    return True
