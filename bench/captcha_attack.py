"""The OCR attack on captcha pictures that bench/captcha_bench.py reports (issue 14).

At least as strong as the independent attack the issue describes: each picture goes through
several pipelines, and it counts as solved if ANY of them reads it exactly.

    grayscale with full contrast, then one of
      - upscaled 3x (Lanczos), as is
      - median 3x3 at the drawn size (dots and 1-px curves go), upscaled 3x, Otsu
      - median 5x5 at the drawn size (2-px curves go too), upscaled 3x, Otsu
      - Otsu at the drawn size, median 3x3, upscaled 3x
      - a fixed threshold at 60 % of the ink-to-ground range, median 3x3, upscaled 3x
    each read by Tesseract in --psm 7 (one line) and --psm 8 (one word), the alphabet as
    whitelist: 10 reads per picture.

An attacker without this oracle would have to pick one reading; counting any exact read
as a success makes the figure an upper bound for such a Tesseract bot.
"""

import pytesseract
from PIL import Image, ImageFilter, ImageOps

SCALE = 3


def _otsu(gray):
    histogram = gray.histogram()
    total = sum(histogram)
    sum_all = sum(i * h for i, h in enumerate(histogram))
    best, threshold, weight_b, sum_b = -1.0, 128, 0, 0.0
    for level in range(256):
        weight_b += histogram[level]
        if weight_b == 0:
            continue
        weight_f = total - weight_b
        if weight_f == 0:
            break
        sum_b += level * histogram[level]
        mean_b, mean_f = sum_b / weight_b, (sum_all - sum_b) / weight_f
        between = weight_b * weight_f * (mean_b - mean_f) ** 2
        if between > best:
            best, threshold = between, level
    return threshold


def _binary(gray, threshold):
    return gray.point(lambda v: 255 if v > threshold else 0)


def _up(picture):
    return picture.resize((picture.width * SCALE, picture.height * SCALE), Image.Resampling.LANCZOS)


def variants(image):
    """The preprocessed pictures: (name, PIL image), dark text on a light ground."""
    gray = ImageOps.autocontrast(image.convert("L"))
    low, high = gray.getextrema()
    out = [("gray x3", _up(gray))]
    for size in (3, 5):
        smooth = _up(gray.filter(ImageFilter.MedianFilter(size)))
        out.append((f"median{size} x3 otsu", _binary(smooth, _otsu(smooth))))
    otsu = _binary(gray, _otsu(gray)).filter(ImageFilter.MedianFilter(3))
    out.append(("otsu median3 x3", _up(otsu)))
    fixed = _binary(gray, low + (high - low) * 0.6).filter(ImageFilter.MedianFilter(3))
    out.append(("fixed60 median3 x3", _up(fixed)))
    return out


def readings(image, alphabet):
    """Every pipeline's reading of the picture (upper case, blanks removed)."""
    found = []
    for _name, picture in variants(image):
        for psm in (7, 8):
            config = f"--psm {psm} -c tessedit_char_whitelist={alphabet}"
            try:
                text = pytesseract.image_to_string(picture, config=config)
            except Exception:  # noqa: BLE001 - TesseractError -8 and friends: no reading
                continue
            found.append("".join(text.split()).upper())
    return found


def solves(image, text, alphabet):
    return text in readings(image, alphabet)
