"""In-process CPU per API request on the body-parsing paths (run from a checkout: .venv/bin/python bench/api_parse_probe.py).

Used to compare json_body() tuples against the pydantic models (issue 12); embedded Redis, SQLite.
PROBE_CHECK=1 turns the answer check (API_CHECK_RESPONSES, on outside production) on; by
default it is off, as in production.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probe_app import probe_app  # noqa: E402

c, server = probe_app()
cases = {
    "malformed (400, parse only)": ("/api/v1/sessions", {"login": 7, "password": "x"}),
    "reset request (202)": ("/api/v1/password-resets", {"email": "a@example.com"}),
    "confirm unknown registration (400)": ("/api/v1/registrations/confirm",
                                            {"email": "a@example.com", "code": "123456", "registration_id": "x" * 22}),
}
for name, (path, body) in cases.items():
    for _ in range(200):
        c.post(path, json=body)
    best = None
    for _round in range(5):
        t = time.process_time()
        for _ in range(500):
            c.post(path, json=body)
        per = (time.process_time() - t) / 500 * 1000
        best = per if best is None else min(best, per)
    print(f"{name}: {best:.3f} ms CPU/request (best of 5 x 500)")
server.shutdown()
