"""Audit rows through a Redis stream (issue 16): a request whose only SQL write would be its
audit rows sends no SQL at all; the rows reach the database when a worker writes the stream,
with every field intact; rows of a consumer that died are taken over, never lost."""

import pytest
from sqlalchemy import event

from authsvc import keys
from authsvc.extensions import db
from authsvc.models import AuditEvent
from authsvc.services import audit_stream

SETTINGS = dict(AUDIT_STREAM=True, CAPTCHA_ENABLED=False, RESEND_COOLDOWN=0)


@pytest.fixture
def service(make_service):
    return make_service(**SETTINGS)


def rows(app, name):
    with app.app_context():
        return db.session.query(AuditEvent).filter_by(event=name).all()


class SqlCounter:
    """Every statement the app's engine sends while counting."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, *_args):
        self.statements.append(statement)

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._seen)


def test_a_reset_request_sends_no_sql_and_its_rows_arrive_through_the_worker(service):
    app, api = service.app, service.api
    counter = SqlCounter(app)
    try:
        answer = api.post("/password-resets", json={"email": "nobody@example.com"},
                          headers={"User-Agent": "curl/8.5"})
    finally:
        counter.close()
    assert answer.status_code == 202
    assert counter.statements == []  # no SELECT, no INSERT, no COMMIT
    assert rows(app, "password.reset_requested") == []  # not yet: in the stream
    redis = app.extensions["authsvc.redis"]
    assert redis.xlen(keys.AUDIT_STREAM) >= 1
    with app.app_context():  # the day's figures count it at once, as with a committed row
        from authsvc.services import daily

        assert daily.live(daily.local_day()).get("codes.issued") == 1
    service.mailbox.deliver_all()  # the worker's turn writes the stream
    (row,) = rows(app, "password.reset_requested")
    assert row.email == "nobody@example.com" and row.ip == "127.0.0.1" and row.user_agent == "curl/8.5"
    assert row.outcome == "success" and row.at is not None
    assert redis.xlen(keys.AUDIT_STREAM) == 0


def test_a_request_that_changes_sql_keeps_its_rows_in_the_same_commit(service):
    app, api = service.app, service.api
    service.register_user()
    answer = api.post("/sessions", json={"login": "alice", "password": "correct horse battery"})
    assert answer.status_code == 200
    assert len(rows(app, "login.success")) == 1  # at once, with the last_login_at it wrote


def test_rows_of_a_consumer_that_died_are_taken_over(service, monkeypatch):
    app, api = service.app, service.api
    for address in ("a@example.com", "b@example.com"):
        assert api.post("/password-resets", json={"email": address}).status_code == 202
    redis = app.extensions["authsvc.redis"]
    with app.app_context():
        audit_stream._ensure_group()
        # a worker read them and died before writing: they stay pending under its name
        taken = redis.xreadgroup(keys.AUDIT_GROUP, "dead-worker", {keys.AUDIT_STREAM: ">"})
        assert taken and len(taken[0][1]) >= 2
        assert audit_stream.flush("live-worker") == 0  # not idle long enough yet: not taken over
        monkeypatch.setattr(audit_stream, "CLAIM_IDLE_MS", 0)
        assert audit_stream.flush("live-worker") >= 2
    assert {r.email for r in rows(app, "password.reset_requested")} == {"a@example.com", "b@example.com"}
    assert redis.xpending(keys.AUDIT_STREAM, keys.AUDIT_GROUP)["pending"] == 0
