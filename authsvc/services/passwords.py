"""bcrypt over a keyed pre-hash: no 72-byte truncation, and a stolen table alone is not enough."""

import base64
import hashlib
import hmac
from functools import lru_cache

import bcrypt
from flask import current_app

from .. import crypto
from .validation import normalize_password


# verify_password's answer for a password that matched under a previous SECRET_KEY's pepper:
# truthy, and the caller stores a new hash under the current pepper.
REHASH = "rehash"


def _peppers():
    """The current pepper first, then (while SECRET_KEY rotates, PASSWORD_PEPPER unset) those
    of SECRET_KEY_FALLBACKS."""
    configured = current_app.config.get("PASSWORD_PEPPER")
    if configured:
        return [configured.encode()]
    return [crypto.subkey("password-pepper"), *crypto.previous_subkeys("password-pepper")]


def _prehash(password, pepper=None):
    # 44 base64 bytes: always under bcrypt's 72-byte limit, never contains a NUL byte.
    digest = hmac.new(pepper or _peppers()[0], normalize_password(password).encode("utf-8"),
                      hashlib.sha256).digest()
    return base64.b64encode(digest)


def hash_password(password):
    """bcrypt hash of the password at BCRYPT_ROUNDS."""
    rounds = current_app.config["BCRYPT_ROUNDS"]
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()


def verify_password(password, stored_hash):
    """True when the password matches; REHASH when it matches under a previous SECRET_KEY's
    pepper; False otherwise and for a malformed hash. A wrong password costs one bcrypt per
    pepper, as an unknown user does (burn_verification)."""
    try:
        for index, pepper in enumerate(_peppers()):
            if bcrypt.checkpw(_prehash(password, pepper), stored_hash.encode()):
                return True if index == 0 else REHASH
    except ValueError:
        return False
    return False


@lru_cache(maxsize=4)
def _dummy_hash(rounds):
    return bcrypt.hashpw(b"authsvc-dummy-password", bcrypt.gensalt(rounds)).decode()


def burn_verification(password):
    """Spend a wrong password's time for an unknown user (evens out timing)."""
    verify_password(password or "", _dummy_hash(current_app.config["BCRYPT_ROUNDS"]))


def needs_rehash(stored_hash):
    """True when the stored cost differs from BCRYPT_ROUNDS (upgraded at next sign-in)."""
    try:
        return int(stored_hash.split("$")[2]) != current_app.config["BCRYPT_ROUNDS"]
    except (IndexError, ValueError):
        return True
