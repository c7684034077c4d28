"""The captcha before a code is sent: one interface for every CAPTCHA_MODE.

    image  a picture to read (services/captcha_image.py)
    pow    a proof of work the browser does by itself (services/captcha_pow.py, ALTCHA)
    both   the picture and the work

issue() makes a captcha: one Redis record under keys.captcha(id), single use, CAPTCHA_TTL.
An image captcha's record holds the keyed hash of its text; a work-only one holds "pow"
(its challenge is signed and names the id). check_captcha() / kept_if_limited() take every
record a request names in one step before anything else runs (right or wrong, they are
gone for every other request) and then check the answer and the work; a send limit that
refused the request puts a rightly solved captcha back with the time it had left.

Pages draw the picture and fetch the challenge in two requests (two records, two ids);
the API issues both parts under one id. Either way every part the mode asks for must come
with the request, and each record is worth one accepted request.
"""

import hmac
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from .. import crypto, keys
from ..errors import CaptchaInvalid, CaptchaRequired, RateLimited
from ..extensions import redis_client
from . import captcha_image, captcha_pow

MODES = ("image", "pow", "both")
POW_ONLY = "pow"  # the record of a captcha without a picture


def enabled():
    return current_app.config["CAPTCHA_ENABLED"]


def mode():
    return current_app.config["CAPTCHA_MODE"]


def wants_image():
    return mode() in ("image", "both")


def wants_pow():
    return mode() in ("pow", "both")


def _answer_hash(captcha_id, text):
    return crypto.keyed_hash("captcha", captcha_id, text.strip().upper())


@dataclass
class Issued:
    captcha_id: str
    expires_in: int
    png: bytes | None = None  # the picture, when it has one
    challenge: dict | None = None  # the ALTCHA challenge, when it asks for work


def issue(image=None, pow=None):
    """A new captcha with the parts the mode asks for (or the ones named)."""
    image = wants_image() if image is None else image
    pow = wants_pow() if pow is None else pow
    captcha_id = secrets.token_urlsafe(16)
    ttl = keys.captcha_ttl()
    issued = Issued(captcha_id, ttl)
    stored = POW_ONLY
    if image:
        text = current_app.config.get("CAPTCHA_FIXED_TEXT") or captcha_image.random_text()
        stored = _answer_hash(captcha_id, text)
        issued.png = captcha_image.draw(text)
    if pow:
        issued.challenge = captcha_pow.challenge(captcha_id, ttl)
    redis_client.set(keys.captcha(captcha_id), stored, ex=ttl)
    return issued


def new_captcha():
    """A picture-only captcha (the pages' <img>); returns (captcha_id, png_bytes)."""
    issued = issue(image=True, pow=False)
    return issued.captcha_id, issued.png


def new_challenge():
    """A work-only captcha (the pages' widget fetches it); returns the challenge dict."""
    return issue(image=False, pow=True).challenge


# Take the named captcha records out of Redis in one step and say how long each had left:
# only one request can hold a captcha, however many arrive with it at once. All or none:
# when one is missing, the others are taken all the same (a half-valid request burns them).
CLAIM_LUA = """
local out = {}
for i, key in ipairs(KEYS) do
  local stored = redis.call('GET', key)
  if stored then
    out[#out + 1] = stored
    out[#out + 1] = redis.call('PTTL', key)
    redis.call('DEL', key)
  else
    out[#out + 1] = false
    out[#out + 1] = 0
  end
end
return out
"""


@dataclass
class Claim:
    key: str
    stored: bytes
    deadline: float  # time.monotonic() at which the captcha would have expired


def _expired():
    if wants_image():
        return CaptchaInvalid(_("The picture has expired. A new one is shown; please try again."))
    return CaptchaInvalid(_("The check has expired. Please send the form again."))


def _claim(captcha_id, answer, pow_payload):
    """Take the captcha records the request names (single use: right or wrong, they are gone
    for every other request); raise CaptchaRequired / CaptchaInvalid unless every part the
    mode asks for is there and right; None when captchas are off."""
    if not enabled():
        return None
    image, pow = wants_image(), wants_pow()
    if image and (not captcha_id or not (answer or "").strip()):
        raise CaptchaRequired()
    if pow and not pow_payload:  # no work done (no JavaScript, or the challenge never came)
        raise CaptchaRequired(_("The automatic check of your browser did not come with the form. It needs "
                                "JavaScript: check that it is on, reload the page and send the form again."))
    if image and (len(captcha_id) > 64 or len(answer) > 16):
        raise CaptchaInvalid()
    pow_id, worked = captcha_pow.check(pow_payload) if pow else (None, False)
    ids = [captcha_id] if image else []
    if pow_id and pow_id not in ids:
        ids.append(pow_id)
    taken = redis_client.script(CLAIM_LUA)(keys=[keys.captcha(i) for i in ids]) if ids else []
    claims, records = [], {}
    for index, captcha in enumerate(ids):
        stored, ttl_ms = taken[2 * index], int(taken[2 * index + 1])
        if stored:
            records[captcha] = stored.decode()
            claims.append(Claim(keys.captcha(captcha), stored, time.monotonic() + max(ttl_ms, 0) / 1000))
    if pow and not worked:
        raise CaptchaInvalid()  # malformed, altered, expired or wrong work: what it named is spent
    if len(records) < len(ids):
        raise _expired()
    if image and not hmac.compare_digest(records[captcha_id], _answer_hash(captcha_id, answer)):
        raise CaptchaInvalid()  # a wrong answer burns the captcha
    return claims


def check_captcha(captcha_id, answer, pow_payload=None):
    """Consume the captcha; raise CaptchaRequired / CaptchaInvalid unless it is solved."""
    _claim(captcha_id, answer, pow_payload)


def offered(captcha_id, pow_payload):
    """Whether a request brought any captcha part (sign-in asks for one only after failures)."""
    return bool(captcha_id or pow_payload)


@contextmanager
def kept_if_limited(captcha_id, answer, pow_payload=None):
    """Check the captcha for a code request; a rightly solved one stays usable when the block
    raises RateLimited (the person waits and retries; the limit, not the captcha, said no).

    The captcha is taken before the block runs, so two requests with one captcha never both
    get through; it is put back only if nothing else took its place, with the time it had
    left (never longer). Accepted requests and wrong answers spend it.
    """
    claims = _claim(captcha_id, answer, pow_payload)
    try:
        yield
    except RateLimited as limited:
        if claims is not None:
            kept = True
            for claim in claims:
                left_ms = int((claim.deadline - time.monotonic()) * 1000)
                kept = left_ms > 0 and bool(redis_client.set(claim.key, claim.stored, px=left_ms, nx=True)) and kept
            limited.captcha_kept = kept
        raise
