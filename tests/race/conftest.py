"""Fixtures of the race tests: gunicorn servers on the suite's Redis and database (one set per
module) and, before each test, clean Redis and SQL state plus a mailbox."""

import pytest
from sqlalchemy import text

from authsvc.extensions import db

from ..support import Mailbox
from .harness import Client, Gunicorn


@pytest.fixture(scope="module")
def start_gunicorn(redis_url, database_url, migrated, smtp_server, tmp_path_factory):
    """start_gunicorn(**settings) -> a running Gunicorn on the suite's Redis and database;
    every server started is stopped when the module ends."""
    started = []

    def start(**settings):
        server = Gunicorn(tmp_path_factory.mktemp("race-gunicorn"), redis_url, database_url,
                          smtp_server.port, **settings)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


class State:
    """The test's view on the shared stores: the mailbox and SQL counts."""

    def __init__(self, app, smtp_server):
        self.app = app
        self.mailbox = Mailbox(app, smtp_server)

    def scalar(self, sql, **params):
        with self.app.app_context():
            try:
                return db.session.execute(text(sql), params).scalar()
            finally:
                db.session.remove()

    def audit_count(self, event):
        return self.scalar("SELECT COUNT(*) FROM audit_events WHERE event = :event", event=event)

    def users_with_email(self, email):
        with self.app.app_context():
            try:
                rows = db.session.execute(text("SELECT username FROM users WHERE lower(email) = :email"),
                                          {"email": email.lower()}).all()
            finally:
                db.session.remove()
        return [row[0] for row in rows]


@pytest.fixture(autouse=True)
def state(make_app, smtp_server):
    """(Every test) clean Redis (FLUSHDB) and SQL tables and an empty SMTP recorder (tests/conftest.py
    make_app does this for its first app), then the mailbox and SQL helpers."""
    return State(make_app(), smtp_server)


@pytest.fixture
def client_for():
    """client_for(server) -> a Client; closed at the end of the test."""
    made = []

    def make(server):
        client = Client(server.url)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
