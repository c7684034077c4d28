"""Captcha: images per second on one core, and how many Tesseract reads exactly.

    .venv/bin/python bench/captcha_bench.py   (authsvc's env settings; prints one JSON object)

Speed: authsvc.services.captcha.draw() in one thread (wall and CPU time, after a warm-up
that fills its glyph cache), new_captcha() (draw + the Redis write) in an app context, and
the `captcha` package's ImageCaptcha as the baseline. OCR: BENCH_OCR_N (500) texts from the
same alphabet drawn by each generator and read by Tesseract (pytesseract) with the attack
that did best in our trials: grayscale, --psm 7 (one line), a whitelist of the alphabet.
Each call is guarded (Tesseract exits with -8 on some noisy images: counted as a miss).
Two worker processes share the calls.
"""

import io
import json
import os
import random
import shutil
import sys
import time
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from authsvc.services import captcha  # noqa: E402

OCR_N = int(os.environ.get("BENCH_OCR_N", "500"))
SPEED_N = int(os.environ.get("BENCH_CAPTCHA_N", "3000"))
OCR_CONFIG = f"--psm 7 -c tessedit_char_whitelist={captcha.ALPHABET}"


def _texts(count, seed):
    rng = random.Random(seed)
    return [captcha.random_text(rng) for _ in range(count)]


def _rate(fn, items):
    wall, cpu = time.perf_counter(), time.process_time()
    for item in items:
        fn(item)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"images": len(items), "per_second_wall": round(len(items) / wall, 1),
            "per_second_cpu": round(len(items) / cpu, 1), "ms_per_image_cpu": round(cpu / len(items) * 1000, 3)}


def speed():
    from captcha.image import ImageCaptcha

    texts = _texts(SPEED_N, 1)
    for text in _texts(3000, 2):  # warm-up: every (glyph, size, angle) mask gets cached
        captcha.draw(text)
    result = {"authsvc_draw": max((_rate(captcha.draw, texts) for _ in range(2)),
                                  key=lambda r: r["per_second_cpu"])}
    baseline = ImageCaptcha()
    def package_png(text):
        buffer = io.BytesIO()
        baseline.generate_image(text).save(buffer, "PNG")
    result["captcha_package"] = _rate(package_png, texts[:max(200, SPEED_N // 10)])

    from authsvc import create_app

    app = create_app({"MAIL_WORKER": "external"})
    with app.app_context():
        result["authsvc_new_captcha"] = _rate(lambda _t: captcha.new_captcha(), texts[:SPEED_N // 3])
    sizes = [len(captcha.draw(t)) for t in texts[:200]]
    result["authsvc_png_bytes_mean"] = round(sum(sizes) / len(sizes))
    return result


def _ocr_one(job):
    kind, text, seed = job
    import pytesseract
    from PIL import Image

    if kind == "authsvc":
        image = Image.open(io.BytesIO(captcha.draw(text, random.Random(seed))))
    else:
        from captcha.image import ImageCaptcha

        random.seed(seed)  # the package draws its noise with the module-level random
        image = ImageCaptcha().generate_image(text)
    try:
        read = pytesseract.image_to_string(image.convert("L"), config=OCR_CONFIG)
    except Exception:  # noqa: BLE001 - TesseractError -8 and friends: a miss
        return "error"
    return "hit" if read.strip().replace(" ", "").upper() == text else "miss"


def ocr():
    if not shutil.which("tesseract"):
        return {"skipped": "tesseract not installed (apt-get install -y tesseract-ocr)"}
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return {"skipped": "pytesseract not installed"}
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    result = {"attack": "grayscale, " + OCR_CONFIG.replace(captcha.ALPHABET, "<alphabet>")}
    rng = random.Random(3)
    started = time.perf_counter()
    with get_context("fork").Pool(2) as pool:
        for kind in ("authsvc", "captcha_package"):
            jobs = [(kind, text, rng.random()) for text in _texts(OCR_N, 4 if kind == "authsvc" else 5)]
            outcomes = pool.map(_ocr_one, jobs, chunksize=8)
            result[kind] = {"images": OCR_N, "read_exactly": outcomes.count("hit"),
                            "tesseract_errors": outcomes.count("error"),
                            "share": round(outcomes.count("hit") / OCR_N, 4)}
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def main():
    out = {"speed": speed()}
    if os.environ.get("BENCH_SKIP_OCR") != "1":
        out["ocr"] = ocr()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
