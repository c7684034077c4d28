"""Pillow-drawn captcha: draw, store (hashed, single use, TTL), check; kept for the retry
when a send limit (not the captcha) refused the request."""

import hmac
import math
import random
import secrets
import struct
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageFont

from .. import crypto, keys
from ..errors import CaptchaInvalid, CaptchaRequired, RateLimited
from ..extensions import redis_client

# No look-alikes: 0/O/Q/D, 1/I/L/J, 2/Z, 5/S, 8/B, U/V are left out.
ALPHABET = "ACEFGHKMNPRTWXY34679"
WIDTH, HEIGHT = 150, 54
GLYPH_BOX = 44
GLYPH_SIZES = (30, 33, 36)
ANGLES = tuple(range(-28, 29, 2))  # degrees; the rotated masks are cached per angle
DOTS = 40  # per shade
WARP_STRIP = 15  # px per mesh quad


def enabled():
    return current_app.config["CAPTCHA_ENABLED"]


def _answer_hash(captcha_id, text):
    return crypto.keyed_hash("captcha", captcha_id, text.strip().upper())


def new_captcha():
    """Draw a new captcha and store its hashed answer; returns (captcha_id, png_bytes)."""
    text = current_app.config.get("CAPTCHA_FIXED_TEXT") or random_text()
    captcha_id = secrets.token_urlsafe(16)
    redis_client.set(keys.captcha(captcha_id), _answer_hash(captcha_id, text), ex=keys.captcha_ttl())
    return captcha_id, draw(text)


# Take the captcha out of Redis in one step and say how long it had left: only one request
# can hold a captcha, however many arrive with it at once.
CLAIM_LUA = """
local stored = redis.call('GET', KEYS[1])
if not stored then return false end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
return {stored, ttl}
"""


@dataclass
class Claim:
    key: str
    stored: bytes
    deadline: float  # time.monotonic() at which the captcha would have expired


def _claim(captcha_id, answer):
    """Take the captcha (single use: right or wrong, it is gone for every other request);
    raise CaptchaRequired / CaptchaInvalid unless the answer matches; None when disabled."""
    if not enabled():
        return None
    if not captcha_id or not (answer or "").strip():
        raise CaptchaRequired()
    if len(captcha_id) > 64 or len(answer) > 16:
        raise CaptchaInvalid()
    key = keys.captcha(captcha_id)
    taken = redis_client.script(CLAIM_LUA)(keys=[key])
    if not taken:
        raise CaptchaInvalid(_("The picture has expired. A new one is shown; please try again."))
    stored, ttl_ms = taken[0], int(taken[1])
    if not hmac.compare_digest(stored.decode(), _answer_hash(captcha_id, answer)):
        raise CaptchaInvalid()  # a wrong answer burns the captcha
    return Claim(key, stored, time.monotonic() + max(ttl_ms, 0) / 1000)


def check_captcha(captcha_id, answer):
    """Consume the captcha; raise CaptchaRequired / CaptchaInvalid unless the answer matches."""
    _claim(captcha_id, answer)


@contextmanager
def kept_if_limited(captcha_id, answer):
    """Check the captcha for a code request; a rightly solved one stays usable when the block
    raises RateLimited (the person waits and retries; the limit, not the captcha, said no).

    The captcha is taken before the block runs, so two requests with one captcha never both
    get through; it is put back only if nothing else took its place, with the time it had
    left (never longer). Accepted requests and wrong answers spend it.
    """
    claim = _claim(captcha_id, answer)
    try:
        yield
    except RateLimited as limited:
        if claim is not None:
            left_ms = int((claim.deadline - time.monotonic()) * 1000)
            limited.captcha_kept = left_ms > 0 and bool(
                redis_client.set(claim.key, claim.stored, px=left_ms, nx=True))
        raise


_SYSTEM_RANDOM = secrets.SystemRandom()


def random_text(rng=_SYSTEM_RANDOM):
    """4 or 5 characters of the alphabet, from the operating system's randomness."""
    return "".join(rng.choice(ALPHABET) for _char in range(rng.choice((4, 5))))


@lru_cache(maxsize=4)
def _font(size):
    return ImageFont.load_default(size=size)


@lru_cache(maxsize=256)
def _glyph(char, size):
    """A white-on-black mask of one character, centred in a square box (cached)."""
    mask = Image.new("L", (GLYPH_BOX, GLYPH_BOX), 0)
    draw = ImageDraw.Draw(mask)
    draw.text((GLYPH_BOX / 2, GLYPH_BOX / 2), char, font=_font(size), fill=255, anchor="mm")
    return mask


@lru_cache(maxsize=len(ALPHABET) * len(GLYPH_SIZES) * len(ANGLES))
def _rotated(char, size, angle):
    """The glyph mask turned by `angle` degrees (cached: about 4 MB for every variant)."""
    return _glyph(char, size).rotate(angle, resample=Image.Resampling.BILINEAR)


def draw(text, rng=None):
    """PNG bytes of the text: rotated, overlapping glyphs, crossing curves, dots, a wave warp.

    Drawn as a coverage mask (0 background .. 255 ink) and written as a palette PNG whose
    palette blends a random background into a random ink colour: one byte per pixel to
    warp and compress instead of three (about 4x faster than drawing in RGB).
    """
    rng = rng or random.Random(secrets.randbits(64))
    image = Image.new("L", (WIDTH, HEIGHT), 0)
    step = (WIDTH - 24) / len(text)
    for index, char in enumerate(text):
        glyph = _rotated(char, rng.choice(GLYPH_SIZES), rng.choice(ANGLES))
        x = int(8 + index * step + rng.uniform(-3, 3))
        y = int((HEIGHT - GLYPH_BOX) / 2 + rng.uniform(-5, 5))
        image.paste(255, (x, y), glyph)
    canvas = ImageDraw.Draw(image)
    for _curve in range(3):  # curves through the text in the text's own colour
        y0, amp, phase = rng.uniform(14, HEIGHT - 14), rng.uniform(4, 10), rng.uniform(0, 6.3)
        freq = rng.uniform(0.03, 0.07)
        points = [(x, y0 + amp * math.sin(freq * x + phase)) for x in range(0, WIDTH + 1, 10)]
        canvas.line(points, fill=255, width=rng.choice((1, 2)))
    noise = rng.randbytes(4 * 2 * DOTS)
    for shade in range(4):  # dots in a few shades, one call per shade
        chunk = noise[shade * 2 * DOTS:(shade + 1) * 2 * DOTS]
        dots = [(chunk[i] % WIDTH, chunk[i + 1] % HEIGHT) for i in range(0, 2 * DOTS, 2)]
        canvas.point(dots, fill=rng.randint(90, 220))
    image = _warp(image, rng)
    return _png(image.tobytes(), _palette(rng))


def _warp(image, rng):
    """Shift vertical strips along a sine wave (a cheap mesh transform)."""
    amp, freq, phase = rng.uniform(2.5, 4.5), rng.uniform(0.04, 0.08), rng.uniform(0, 6.3)
    mesh = []
    for x in range(0, WIDTH, WARP_STRIP):
        d0 = amp * math.sin(freq * x + phase)
        d1 = amp * math.sin(freq * (x + WARP_STRIP) + phase)
        box = (x, 0, min(x + WARP_STRIP, WIDTH), HEIGHT)
        quad = (x, d0, x, HEIGHT + d0, x + WARP_STRIP, HEIGHT + d1, x + WARP_STRIP, d1)
        mesh.append((box, quad))
    return image.transform(image.size, Image.Transform.MESH, mesh,
                           resample=Image.Resampling.BILINEAR, fillcolor=0)


_RAMP = Image.frombytes("L", (256, 1), bytes(range(256)))


def _palette(rng):
    """256 RGB entries from a light background (index 0) to a dark ink (index 255)."""
    background = tuple(rng.randint(225, 250) for _ in range(3))
    ink = tuple(rng.randint(20, 110) for _ in range(3))
    strip = Image.new("RGB", (256, 1), background)
    strip.paste(ink, (0, 0), _RAMP)
    return strip.tobytes()


def _chunk(tag, body):
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))


# signature + IHDR: WIDTH x HEIGHT, 8 bits, colour type 3 (palette), no interlace
_PNG_HEAD = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 3, 0, 0, 0))


def _png(pixels, palette):
    """A palette PNG written directly: Pillow's encoder costs ~3x more for an image this small."""
    rows = b"".join(b"\x00" + pixels[i:i + WIDTH] for i in range(0, WIDTH * HEIGHT, WIDTH))
    return (_PNG_HEAD + _chunk(b"PLTE", palette) + _chunk(b"IDAT", zlib.compress(rows, 1))
            + _chunk(b"IEND", b""))
