"""Pillow-drawn captcha: draw, store (hashed, single use, TTL), check."""

import hmac
import io
import math
import random
import secrets
from functools import lru_cache

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageFont

from .. import crypto, keys
from ..errors import CaptchaInvalid, CaptchaRequired
from ..extensions import redis_client

# No look-alikes: 0/O/Q/D, 1/I/L/J, 2/Z, 5/S, 8/B, U/V are left out.
ALPHABET = "ACEFGHKMNPRTWXY34679"
WIDTH, HEIGHT = 150, 54
GLYPH_BOX = 44


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


def check_captcha(captcha_id, answer):
    """Consume the captcha; raise CaptchaRequired / CaptchaInvalid unless the answer matches."""
    if not enabled():
        return
    if not captcha_id or not (answer or "").strip():
        raise CaptchaRequired()
    if len(captcha_id) > 64 or len(answer) > 16:
        raise CaptchaInvalid()
    stored = redis_client.getdel(keys.captcha(captcha_id))  # single use, right or wrong
    if stored is None:
        raise CaptchaInvalid(_("The picture has expired. A new one is shown; please try again."))
    if not hmac.compare_digest(stored.decode(), _answer_hash(captcha_id, answer)):
        raise CaptchaInvalid()


def random_text(rng=secrets.SystemRandom()):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.choice((4, 5))))


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


def draw(text, rng=None):
    """PNG bytes of the text: rotated, overlapping glyphs, crossing curves, dots, a wave warp."""
    rng = rng or random.Random(secrets.randbits(64))
    background = tuple(rng.randint(225, 250) for _ in range(3))
    image = Image.new("RGB", (WIDTH, HEIGHT), background)
    ink = tuple(rng.randint(20, 110) for _ in range(3))
    step = (WIDTH - 24) / len(text)
    for index, char in enumerate(text):
        glyph = _glyph(char, rng.choice((30, 33, 36))).rotate(
            rng.uniform(-28, 28), resample=Image.Resampling.BILINEAR)
        x = int(8 + index * step + rng.uniform(-3, 3))
        y = int((HEIGHT - GLYPH_BOX) / 2 + rng.uniform(-5, 5))
        image.paste(ink, (x, y), glyph)
    canvas = ImageDraw.Draw(image)
    for _ in range(3):  # curves through the text in the text's own colour
        y0, amp, phase = rng.uniform(14, HEIGHT - 14), rng.uniform(4, 10), rng.uniform(0, 6.3)
        freq = rng.uniform(0.03, 0.07)
        points = [(x, y0 + amp * math.sin(freq * x + phase)) for x in range(0, WIDTH + 1, 10)]
        canvas.line(points, fill=ink, width=rng.choice((1, 2)))
    for shade in range(4):  # dots in a few colours, one call per colour
        dots = [(rng.randrange(WIDTH), rng.randrange(HEIGHT)) for _ in range(40)]
        canvas.point(dots, fill=tuple(rng.randint(60, 200) for _ in range(3)))
    image = _warp(image, rng)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def _warp(image, rng):
    """Shift vertical strips along a sine wave (a cheap mesh transform)."""
    amp, freq, phase = rng.uniform(2.5, 4.5), rng.uniform(0.04, 0.08), rng.uniform(0, 6.3)
    strip = 10
    mesh = []
    for x in range(0, WIDTH, strip):
        d0 = amp * math.sin(freq * x + phase)
        d1 = amp * math.sin(freq * (x + strip) + phase)
        box = (x, 0, min(x + strip, WIDTH), HEIGHT)
        quad = (x, d0, x, HEIGHT + d0, x + strip, HEIGHT + d1, x + strip, d1)
        mesh.append((box, quad))
    return image.transform(image.size, Image.Transform.MESH, mesh,
                           resample=Image.Resampling.BILINEAR, fillcolor=image.getpixel((0, 0)))
