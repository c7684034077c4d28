"""Passkeys (WebAuthn, py_webauthn): options and verification for registering one and for
signing in with one; listing, renaming and removing them. How they take part in sign-in is
factors.py's and signin.py's business.

- Relying party: the id is PUBLIC_URL's host, the one accepted origin PUBLIC_URL's
  scheme://host[:port]. A response made for another site (a phishing page) names another
  origin or RP id hash and is refused.
- User verification is required at registration and at every use (PIN or biometrics on the
  device): a passkey alone is a whole sign-in, so it must be two factors in itself.
- Challenges: 32 random bytes, kept in Redis (PASSKEY_CHALLENGE_TTL) under the hash of a random
  challenge_id with what they are for and whom they are bound to (the registering user and his
  token or session; a pending second step). Read once with GETDEL: every answer, right or
  wrong, uses the challenge up. Pages keep the challenge_id in the server-side session, so
  another browser cannot answer it; the API returns it to its caller.
- Sign counter: an authenticator that keeps one (non-zero) must show a higher count at every
  use; a count that does not rise means a copied authenticator (or a replayed response): it is
  refused, audited as passkey.counter_regression and counts as a failed attempt. The counter
  rises through a conditional UPDATE, so two uses with the same count can't both pass.
- The user handle is a random 32-byte value given at the first passkey (users.passkey_handle),
  never the database id.
"""

import json
import secrets
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import update
from webauthn import (generate_authentication_options, generate_registration_options, verify_authentication_response,
                      verify_registration_response)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.options_to_json_dict import options_to_json_dict
from webauthn.helpers.structs import (AuthenticatorSelectionCriteria, AuthenticatorTransport,
                                      PublicKeyCredentialDescriptor, ResidentKeyRequirement,
                                      UserVerificationRequirement)

from .. import crypto, keys
from ..errors import CodeExpired, Conflict, InvalidCredentials, InvalidInput, NotFound
from ..extensions import db, redis_client
from ..models import Passkey, User, utcnow
from . import aaguids, attempts, audit

REGISTER, SIGN_IN, SECOND_STEP, CONFIRM = "register", "sign_in", "second_step", "confirm"
MAX_PER_USER = 20
NAME_MAX = 64
ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.EDDSA,
              COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]
TRANSPORTS = {t.value for t in AuthenticatorTransport}
BAD_RESPONSE = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)



class PasskeyRejected(InvalidCredentials):
    """A passkey answer that does not verify (or names no passkey of ours)."""

    def __init__(self, message=None):
        super().__init__()
        self._message = message or _("This passkey was not accepted. Please try again, or sign in another way.")


# --- the relying party ------------------------------------------------------------------------
def _public():
    return urlsplit(current_app.config["PUBLIC_URL"])


def rp_id():
    return _public().hostname


def origin():
    parts = _public()
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


# --- challenges -------------------------------------------------------------------------------
def _issue(purpose, challenge, **bound):
    challenge_id = secrets.token_urlsafe(24)
    record = {"purpose": purpose, "challenge": bytes_to_base64url(challenge), **bound}
    redis_client.set(keys.passkey_challenge(crypto.token_hash(challenge_id)), json.dumps(record),
                     ex=keys.PASSKEY_CHALLENGE_TTL)
    return challenge_id


def _take(challenge_id, purpose, **bound):
    """The challenge bytes of an open challenge for `purpose` bound to `bound`; used up now."""
    raw = redis_client.getdel(keys.passkey_challenge(crypto.token_hash(challenge_id))) if challenge_id else None
    record = json.loads(raw) if raw else {}
    if record.get("purpose") != purpose or any(record.get(k) != v for k, v in bound.items()):
        raise CodeExpired(_("This passkey request has expired or was already answered. Please try again."))
    return base64url_to_bytes(record["challenge"])


def _options(options, purpose, **bound):
    return {"challenge_id": _issue(purpose, options.challenge, **bound),
            "publicKey": options_to_json_dict(options), "expires_in": keys.PASSKEY_CHALLENGE_TTL}


# --- the user's passkeys ----------------------------------------------------------------------
def of(user):
    return db.session.execute(db.select(Passkey).where(Passkey.user_id == user.id)
                              .order_by(Passkey.created_at, Passkey.id)).scalars().all()


def count(user):
    return len(of(user))


def one(user, passkey_id):
    row = db.session.get(Passkey, passkey_id) if isinstance(passkey_id, int) else None
    if row is None or row.user_id != user.id:
        raise NotFound(_("No such passkey."))
    return row


def describe(row):
    """A passkey as the account page and GET /me/passkeys show it."""
    aaguid = aaguids.shown(row.aaguid)
    return {"id": row.id, "name": row.name, "aaguid": aaguid, "authenticator": aaguids.name(aaguid),
            "created_at": row.created_at, "last_used_at": row.last_used_at,
            "backed_up": row.backed_up, "transports": row.transports or []}


def clean_name(name):
    value = " ".join((name or "").split())
    if not value:
        raise InvalidInput({"name": [_("Please give this passkey a name, e.g. the device it is on.")]})
    if len(value) > NAME_MAX:
        raise InvalidInput({"name": [_("At most %(num)d characters.", num=NAME_MAX)]})
    return value


def _descriptor(row):
    transports = [AuthenticatorTransport(t) for t in (row.transports or []) if t in TRANSPORTS]
    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(row.credential_id), transports=transports or None)


def _handle(user):
    if not user.passkey_handle:
        user.passkey_handle = bytes_to_base64url(secrets.token_bytes(32))
    return user.passkey_handle


# --- registration -----------------------------------------------------------------------------
def registration_options(user, bound):
    """Options for navigator.credentials.create(): a discoverable credential with user
    verification, none of the user's passkeys again. `bound`: the caller's token or session."""
    rows = of(user)
    if len(rows) >= MAX_PER_USER:
        raise Conflict(message=_("You have %(num)d passkeys, the most an account can have. Remove one first.",
                                 num=MAX_PER_USER))
    options = generate_registration_options(
        rp_id=rp_id(), rp_name=current_app.config["SITE_NAME"], user_name=user.username,
        user_id=base64url_to_bytes(_handle(user)), user_display_name=user.username,
        timeout=keys.PASSKEY_CHALLENGE_TTL * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[_descriptor(row) for row in rows], supported_pub_key_algs=ALGORITHMS)
    return _options(options, REGISTER, uid=user.id, bound=bound)


def register(user, challenge_id, credential, name, bound):
    """Verify the browser's answer to registration_options and store the passkey."""
    name = clean_name(name)
    challenge = _take(challenge_id, REGISTER, uid=user.id, bound=bound)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(),
            expected_origin=origin(), require_user_verification=True, supported_pub_key_algs=ALGORITHMS)
    except BAD_RESPONSE as exc:
        audit.record("factor.failed", "failure", user=user,
                     detail={"kind": "passkey", "stage": "enrol", "reason": str(exc)[:160]})
        raise InvalidInput({"credential": [_("The passkey could not be verified. Please try again.")]},
                           status=400) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.execute(db.select(Passkey.id).where(Passkey.credential_id == credential_id)).first():
        raise Conflict(message=_("This passkey is already registered."))
    response = credential.get("response") if isinstance(credential, dict) else None
    listed = (response or {}).get("transports")
    transports = [t for t in listed if isinstance(t, str) and t in TRANSPORTS][:8] if isinstance(listed, list) else []
    row = Passkey(user_id=user.id, credential_id=credential_id, public_key=verified.credential_public_key,
                  sign_count=verified.sign_count, transports=transports, aaguid=verified.aaguid, name=name,
                  backup_eligible=verified.credential_device_type == "multi_device",
                  backed_up=verified.credential_backed_up)
    db.session.add(row)
    db.session.flush()
    audit.record("factor.enrolled", user=user, detail={"kind": "passkey", "passkey": row.id, "name": name,
                                                       "aaguid": verified.aaguid})
    return row


# --- authentication ---------------------------------------------------------------------------
def authentication_options(purpose, user=None, **bound):
    """Options for navigator.credentials.get(): any discoverable passkey of ours (no user), or
    one of `user`'s passkeys (a second step)."""
    options = generate_authentication_options(
        rp_id=rp_id(), timeout=keys.PASSKEY_CHALLENGE_TTL * 1000,
        allow_credentials=[_descriptor(row) for row in of(user)] if user is not None else None,
        user_verification=UserVerificationRequirement.REQUIRED)
    return _options(options, purpose, **bound)


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
    challenge = _take(challenge_id, purpose, **bound)
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


# --- managing them ----------------------------------------------------------------------------
def rename(user, passkey_id, name):
    row = one(user, passkey_id)
    name = clean_name(name)
    if name != row.name:
        audit.record("factor.renamed", user=user, detail={"kind": "passkey", "passkey": row.id,
                                                          "from": row.name, "to": name})
        row.name = name
    return row


def remove(user, passkey_id):
    row = one(user, passkey_id)
    name = row.name
    db.session.delete(row)
    db.session.flush()
    audit.record("factor.removed", user=user, detail={"kind": "passkey", "passkey": passkey_id, "name": name})
    return name


def remove_all(user):
    """Every passkey of the user (an admin's reset); returns how many."""
    rows = of(user)
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    return len(rows)
