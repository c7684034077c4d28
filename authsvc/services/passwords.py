"""bcrypt over a keyed pre-hash: no 72-byte truncation, and a stolen table alone is not enough."""

import base64
import hashlib
import hmac
from functools import lru_cache

import bcrypt
from flask import current_app

from .. import crypto
from .validation import normalize_password


def _pepper():
    configured = current_app.config.get("PASSWORD_PEPPER")
    return configured.encode() if configured else crypto.subkey("password-pepper")


def _prehash(password):
    # 44 base64 bytes: always under bcrypt's 72-byte limit, never contains a NUL byte.
    digest = hmac.new(_pepper(), normalize_password(password).encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest)


def hash_password(password):
    """bcrypt hash of the password at BCRYPT_ROUNDS."""
    rounds = current_app.config["BCRYPT_ROUNDS"]
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()


def verify_password(password, stored_hash):
    """True when the password matches; False for a malformed hash."""
    try:
        return bcrypt.checkpw(_prehash(password), stored_hash.encode())
    except ValueError:
        return False


@lru_cache(maxsize=4)
def _dummy_hash(rounds):
    return bcrypt.hashpw(b"authsvc-dummy-password", bcrypt.gensalt(rounds)).decode()


def burn_verification(password):
    """Spend one verification's worth of time for an unknown user (evens out timing)."""
    verify_password(password or "", _dummy_hash(current_app.config["BCRYPT_ROUNDS"]))


def needs_rehash(stored_hash):
    """True when the stored cost differs from BCRYPT_ROUNDS (upgraded at next sign-in)."""
    try:
        return int(stored_hash.split("$")[2]) != current_app.config["BCRYPT_ROUNDS"]
    except (IndexError, ValueError):
        return True
