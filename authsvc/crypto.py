"""Keyed hashes and sealing, all derived from SECRET_KEY with a separate key per use."""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
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


@lru_cache(maxsize=8)
def _fernet(secret):
    key = _subkey(secret, "seal")
    return Fernet(base64.urlsafe_b64encode(key))


def seal(data):
    """Encrypt and authenticate bytes (queued mail carries codes; Redis never sees them)."""
    return _fernet(current_app.config["SECRET_KEY"]).encrypt(data)


def unseal(token):
    """Decrypt what seal() produced; raises InvalidToken when tampered with or foreign."""
    return _fernet(current_app.config["SECRET_KEY"]).decrypt(token)
