"""Instructions per API request pair, counted by callgrind (not moved by the machine's load).

    N=0 valgrind --tool=callgrind .venv/bin/python bench/instructions_probe.py
    N=200 valgrind --tool=callgrind .venv/bin/python bench/instructions_probe.py
    (Collected of the second - Collected of the first) / 200 = instructions per pair

A pair: one POST /api/v1/password-resets (202, queues a mail) and one malformed POST
/api/v1/sessions (400). PROBE_CHECK=1 turns the answer check on (off, as in production).
Run from the checkout to measure; each run takes 2-3 minutes under valgrind.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probe_app import probe_app  # noqa: E402

c, server = probe_app()
for _ in range(30):
    c.post("/api/v1/password-resets", json={"email": "a@example.com"})
    c.post("/api/v1/sessions", json={"login": 7, "password": "x"})
for _ in range(int(os.environ.get("N", "0"))):
    c.post("/api/v1/password-resets", json={"email": "a@example.com"})
    c.post("/api/v1/sessions", json={"login": 7, "password": "x"})
server.shutdown()
