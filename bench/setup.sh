#!/usr/bin/env bash
# What `make bench` needs beyond authsvc's .venv: the Flask-Security-Too venv, the bench
# tools in .venv, and (as root with apt) Tesseract and wrk. Idempotent; quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
FST=bench/.venv-fst

if [ ! -f "$FST/.stamp" ] || [ bench/requirements-fst.txt -nt "$FST/.stamp" ]; then
  test -x "$FST/bin/python" || "$PYTHON" -m venv "$FST"
  "$FST/bin/pip" install --disable-pip-version-check -q -r bench/requirements-fst.txt
  touch "$FST/.stamp"
fi
if [ ! -f .venv/.bench-stamp ] || [ bench/requirements.txt -nt .venv/.bench-stamp ]; then
  .venv/bin/pip install --disable-pip-version-check -q -r bench/requirements.txt
  touch .venv/.bench-stamp
fi

missing=()
command -v tesseract >/dev/null || missing+=(tesseract-ocr)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null
  else
    echo "bench: ${missing[*]} not installed (not root): OCR is skipped without tesseract," \
         "and bench/loadgen.py replaces wrk" >&2
  fi
fi
