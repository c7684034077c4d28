"""Using a passkey (WebAuthn authentication): a sign-in with any discoverable passkey of
ours, a second step or a confirmation with one of the user's (passkey_ceremony.py: the
relying party and the challenge).

- Sign counter: an authenticator that keeps one (non-zero) must show a higher count at every
  use; a count that does not rise means a copied authenticator (or a replayed response): it is
  refused, audited as passkey.counter_regression and counts as a failed attempt. The counter
  rises through a conditional UPDATE, so two uses with the same count can't both pass.
"""

from flask_babel import gettext as _
from sqlalchemy import update
from webauthn import generate_authentication_options, verify_authentication_response
from webauthn.helpers.structs import UserVerificationRequirement

from .. import keys
from ..errors import InvalidCredentials
from ..extensions import db
from ..models import Passkey, User, utcnow
from . import attempts, audit, passkeys
from .passkey_ceremony import BAD_RESPONSE, descriptor, options_answer, origin, rp_id, take

SIGN_IN, SECOND_STEP, CONFIRM = "sign_in", "second_step", "confirm"


class PasskeyRejected(InvalidCredentials):
    """A passkey answer that does not verify (or names no passkey of ours)."""

    def __init__(self, message=None):
        super().__init__()
        self._message = message or _("This passkey was not accepted. Please try again, or sign in another way.")


# --- the ceremony ---------------------------------------------------------------------------------
def authentication_options(purpose, user=None, **bound):
    """Options for navigator.credentials.get(): any discoverable passkey of ours (no user), or
    one of `user`'s passkeys (a second step)."""
    options = generate_authentication_options(
        rp_id=rp_id(), timeout=keys.PASSKEY_CHALLENGE_TTL * 1000,
        allow_credentials=[descriptor(row) for row in passkeys.of(user)] if user is not None else None,
        user_verification=UserVerificationRequirement.REQUIRED)
    return options_answer(options, purpose, **bound)


def _credential_row(credential):
    """(the passkey the answer names, its owner), in one query; (None, None) when unknown."""
    raw_id = credential.get("rawId") or credential.get("id") if isinstance(credential, dict) else None
    if not isinstance(raw_id, str) or len(raw_id) > 1400:
        return None, None
    found = db.session.execute(db.select(Passkey, User).join(User, User.id == Passkey.user_id)
                               .where(Passkey.credential_id == raw_id)).first()
    return tuple(found) if found else (None, None)


def authenticate(challenge_id, credential, purpose, user=None, **bound):
    """Verify an answer to authentication_options; returns (user, passkey row).

    Inside an attempt slot of the owner's account: a locked account is refused (423), a
    wrong signature or a counter that went backwards counts as a failure toward the lock."""
    challenge = take(challenge_id, purpose, **bound)
    row, owner = _credential_row(credential)
    if row is None or (user is not None and row.user_id != user.id):
        audit.record("factor.failed", "failure", user=user,
                     detail={"kind": "passkey", "reason": "unknown_credential", "stage": purpose})
        raise PasskeyRejected()
    slot = attempts.reserve(f"u{owner.id}")  # AccountLocked while locked
    try:
        verified = _verify(credential, challenge, row, owner)
    except Exception:
        attempts.settle(slot, "void")
        raise
    if verified is None:
        attempts.failed(slot, owner, owner.email, "factor.failed",
                        {"kind": "passkey", "reason": "invalid", "passkey": row.id, "stage": purpose}, "passkey")
        raise PasskeyRejected()
    new, old = verified.new_sign_count, row.sign_count
    spent = None
    if not (new or old) or new > old:  # no counter kept, or it rose: raise it (once)
        spent = db.session.execute(
            update(Passkey).where(Passkey.id == row.id, Passkey.sign_count == old)
            .values(sign_count=new, last_used_at=utcnow(), backed_up=verified.credential_backed_up)
            .execution_options(synchronize_session=False))
    if spent is None or spent.rowcount != 1:
        attempts.failed(slot, owner, owner.email, "passkey.counter_regression",
                        {"passkey": row.id, "stored": old, "presented": new, "stage": purpose}, "passkey")
        raise PasskeyRejected(_("This passkey's use counter went backwards, a sign that it may have been "
                                "copied. It was refused; if it is yours, remove it and add it again."))
    if not owner.active:
        attempts.settle(slot, "void")
        audit.record("login.failure", "failure", user=owner, detail={"reason": "inactive", "method": "passkey"})
        raise PasskeyRejected()
    attempts.settle(slot, "ok")
    return owner, row


def _verify(credential, challenge, row, owner):
    """py_webauthn's checks (origin, RP id hash, challenge, UV, signature); the counter is
    checked by the caller, after the signature (so a forged answer never reads as a clone)."""
    response = credential.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if handle and handle != owner.passkey_handle:
        return None
    try:
        return verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(), expected_origin=origin(),
            credential_public_key=row.public_key, credential_current_sign_count=0, require_user_verification=True)
    except BAD_RESPONSE:
        return None
