"""The captcha renderer as it was before issue 14 (150x54, alphabet ACEFGHKMNPRTWXY34679):
kept only so that bench/captcha_bench.py can attack the old and the new pictures alike."""

import math
import random
import secrets
import struct
import zlib
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

ALPHABET = "ACEFGHKMNPRTWXY34679"
WIDTH, HEIGHT = 150, 54
GLYPH_BOX = 44
GLYPH_SIZES = (30, 33, 36)
ANGLES = tuple(range(-28, 29, 2))
DOTS = 40
WARP_STRIP = 15


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
