"""What both passkey ceremonies (WebAuthn, py_webauthn) share: the relying party and the
single-use bound challenges. Adding a passkey: passkey_registration.py; using one:
passkey_signin.py; the user's list of them: passkeys.py.

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
"""

import json
import secrets
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.options_to_json_dict import options_to_json_dict
from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

from .. import crypto, keys
from ..errors import CodeExpired
from ..extensions import redis_client

ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.EDDSA,
              COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]
TRANSPORTS = {t.value for t in AuthenticatorTransport}
BAD_RESPONSE = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


# --- the relying party ----------------------------------------------------------------------------
def _public():
    return urlsplit(current_app.config["PUBLIC_URL"])


def rp_id():
    return _public().hostname


def origin():
    parts = _public()
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


# --- challenges -----------------------------------------------------------------------------------
def _issue(purpose, challenge, **bound):
    challenge_id = secrets.token_urlsafe(24)
    record = {"purpose": purpose, "challenge": bytes_to_base64url(challenge), **bound}
    redis_client.set(keys.passkey_challenge(crypto.token_hash(challenge_id)), json.dumps(record),
                     ex=keys.PASSKEY_CHALLENGE_TTL)
    return challenge_id


def take(challenge_id, purpose, **bound):
    """The challenge bytes of an open challenge for `purpose` bound to `bound`; used up now."""
    raw = redis_client.getdel(keys.passkey_challenge(crypto.token_hash(challenge_id))) if challenge_id else None
    record = json.loads(raw) if raw else {}
    if record.get("purpose") != purpose or any(record.get(k) != v for k, v in bound.items()):
        raise CodeExpired(_("This passkey request has expired or was already answered. Please try again."))
    return base64url_to_bytes(record["challenge"])


def options_answer(options, purpose, **bound):
    return {"challenge_id": _issue(purpose, options.challenge, **bound),
            "publicKey": options_to_json_dict(options), "expires_in": keys.PASSKEY_CHALLENGE_TTL}


def descriptor(row):
    """A stored passkey as options name it (exclude at registration, allow at a second step)."""
    transports = [AuthenticatorTransport(t) for t in (row.transports or []) if t in TRANSPORTS]
    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(row.credential_id), transports=transports or None)
