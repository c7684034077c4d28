"""Keyed hashes and sealing, all derived from SECRET_KEY with a separate key per use."""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

__all__ = ["keyed_hash", "address_id", "token_hash", "seal", "unseal", "InvalidToken"]


@lru_cache(maxsize=32)
def _subkey(secret, domain):
    return hmac.new(secret.encode(), b"authsvc/" + domain.encode(), hashlib.sha256).digest()


def subkey(domain):
    """A 32-byte key for one purpose, derived from the app's SECRET_KEY."""
    return _subkey(current_app.config["SECRET_KEY"], domain)


def keyed_hash(domain, *parts):
    """HMAC-SHA256 (hex) over the parts, with a key reserved for `domain`."""
    message = "\x1f".join(str(p) for p in parts).encode()
    return hmac.new(subkey(domain), message, hashlib.sha256).hexdigest()


def address_id(email):
    """Stable, non-reversible id for a normalised address, used in Redis key names."""
    return keyed_hash("address", email)[:32]


def token_hash(token):
    """SHA-256 of a high-entropy token (session id, API token); the only form stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def signing_keys():
    """SECRET_KEY and its fallbacks for itsdangerous (oldest first; it signs with the last):
    links mailed before a rotation (undo, unsubscribe) keep working."""
    return [*reversed(current_app.config.get("SECRET_KEY_FALLBACKS") or ()), current_app.config["SECRET_KEY"]]


def previous_subkeys(domain):
    """The keys for `domain` under each of SECRET_KEY_FALLBACKS (a SECRET_KEY rotation)."""
    return [_subkey(secret, domain) for secret in current_app.config.get("SECRET_KEY_FALLBACKS") or ()]


@lru_cache(maxsize=8)
def _fernet(secret, fallbacks=()):
    """Seals under SECRET_KEY; opens under it or any of the fallbacks (mail queued before a
    rotation still goes out)."""
    return MultiFernet([Fernet(base64.urlsafe_b64encode(_subkey(key, "seal"))) for key in (secret, *fallbacks)])


def _sealer():
    return _fernet(current_app.config["SECRET_KEY"], tuple(current_app.config.get("SECRET_KEY_FALLBACKS") or ()))


def seal(data):
    """Encrypt and authenticate bytes (queued mail carries codes; Redis never sees them)."""
    return _sealer().encrypt(data)


def unseal(token):
    """Decrypt what seal() produced; raises InvalidToken when tampered with or foreign."""
    return _sealer().decrypt(token)


# --- the factor key ring (authenticator secrets, recovery-code hashes) -----------------------
# FACTOR_KEYS = "id=secret,id=secret…": the first seals, every one listed opens; unset, one key
# "k0" from SECRET_KEY. Each key is HKDF-SHA256(secret, info="authsvc/factor/<id>"), so "k0"
# keeps opening what it sealed once SECRET_KEY moves on: FACTOR_KEYS="k1=<new>,k0=<old key>".
@lru_cache(maxsize=8)
def _factor_ring(secret_key, configured):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    pairs = [entry.strip().partition("=")[::2] for entry in configured.split(",")] if configured \
        else [("k0", secret_key)]
    ring = {}
    for key_id, secret in pairs:
        ring[key_id] = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                            info=b"authsvc/factor/" + key_id.encode()).derive(secret.encode())
    return pairs[0][0], ring


def factor_ring():
    """(current key id, {key id: 32-byte key})."""
    return _factor_ring(current_app.config["SECRET_KEY"], current_app.config.get("FACTOR_KEYS") or "")


def seal_factor(plaintext, context):
    """AES-256-GCM under the current factor key, bound to `context` (e.g. "totp:42");
    returns (key id, base64 text)."""
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key_id, ring = factor_ring()
    nonce = os.urandom(12)
    sealed = AESGCM(ring[key_id]).encrypt(nonce, plaintext.encode(), context.encode())
    return key_id, base64.b64encode(nonce + sealed).decode()


def open_factor(key_id, text, context):
    """The plaintext seal_factor sealed; KeyError for a key id no longer configured,
    cryptography's InvalidTag when tampered with or moved to another context."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.b64decode(text)
    return AESGCM(factor_ring()[1][key_id]).decrypt(raw[:12], raw[12:], context.encode()).decode()


def factor_hashes(domain, value):
    """{key id: HMAC-SHA256 hex} of `value` under every factor key (recovery codes are looked up
    under each key still configured, and stored under the current one)."""
    message = f"{domain}\x1f{value}".encode()
    return {key_id: hmac.new(key, message, hashlib.sha256).hexdigest()
            for key_id, key in factor_ring()[1].items()}
