"""The proof-of-work half of the captcha: ALTCHA challenges (the `altcha` package, v2
format) that the <altcha-widget> on our pages, or an API client, solves.

Algorithm PBKDF2/SHA-256 in ALTCHA's "deterministic" form: the server picks a counter n
uniformly in 0..CAPTCHA_POW_MAX and publishes the first 16 bytes of
PBKDF2-HMAC-SHA256(password = nonce || uint32_be(n), salt, CAPTCHA_POW_COST iterations)
as `keyPrefix`. The client tries n = 0, 1, 2, ... until the derived key starts with
keyPrefix: on average CAPTCHA_POW_MAX / 2 derivations, never more than CAPTCHA_POW_MAX + 1.
PBKDF2 runs at native speed in a browser (WebCrypto) as in a bot (OpenSSL); with many
iterations per try (and few tries) the browser's per-call overhead hardly counts, so the
work costs a bot nearly what it costs a person's browser (bench/RESULTS.md: about 0.5 s of
a bot's CPU, 0.75 s of Chromium's, with the defaults). The server derives once per
challenge (to publish the prefix, ~15 ms); a solution is checked by one HMAC.

Each challenge is signed (HMAC with a key derived from SECRET_KEY), names its captcha id in
its signed `data`, and expires with the captcha (CAPTCHA_TTL). Single use is the captcha
record's (services/captcha.py): a solution is worth one record, taken once.
"""

import base64
import binascii
import json
import secrets
import time

import altcha
from flask import current_app

from .. import crypto

ALGORITHM = "PBKDF2/SHA-256"
MAX_PAYLOAD = 4096  # characters of base64; a real payload is about 700


def _secret():
    return crypto.subkey("captcha-pow").hex()


def _key_secret():
    """Signs the expected derived key inside the challenge: checking a solution is then one
    HMAC, not another PBKDF2 run (the issuing run is the server's only derivation)."""
    return crypto.subkey("captcha-pow-key").hex()


def challenge(captcha_id, ttl):
    """A signed challenge (a JSON-ready dict) bound to `captcha_id`, expiring in `ttl` s."""
    config = current_app.config
    counter = secrets.randbelow(config["CAPTCHA_POW_MAX"] + 1)
    issued = altcha.create_challenge(
        ALGORITHM, config["CAPTCHA_POW_COST"], counter=counter, key_length=32,
        expires_at=int(time.time()) + ttl, data={"id": captcha_id}, hmac_secret=_secret(),
        hmac_key_secret=_key_secret())
    return issued.to_dict()


def check(payload):
    """(captcha id, solved) for a payload: the id of the captcha a challenge we signed names
    (None for anything we did not issue: malformed, unsigned, altered or expired), and
    whether the work is right (the counter gives the key, the key starts with the prefix)."""
    if not isinstance(payload, str) or not payload or len(payload) > MAX_PAYLOAD:
        return None, False
    try:
        decoded = json.loads(base64.b64decode(payload, validate=True))
        data = decoded["challenge"]["parameters"].get("data")
        captcha_id = data.get("id") if isinstance(data, dict) else None
    except (ValueError, binascii.Error, KeyError, TypeError, AttributeError, RecursionError):
        return None, False
    if not isinstance(captcha_id, str) or not captcha_id:
        return None, False
    try:
        result = altcha.verify_solution(payload, _secret(), hmac_key_secret=_key_secret())
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
        return None, False
    if result.expired or result.invalid_signature is not False:
        return None, False
    return captcha_id, bool(result.verified)


def solved_id(payload):
    """The captcha id a valid solution was made for; None for anything else."""
    captcha_id, solved = check(payload)
    return captcha_id if solved else None


def solve(issued):
    """Find the solution of a challenge dict and return the base64 payload the server takes
    (the tests and the bench act as an API client with this)."""
    parsed = altcha.Challenge.from_dict(issued)
    solution = altcha.solve_challenge(parsed)
    return altcha.Payload(parsed, solution).to_base64()
