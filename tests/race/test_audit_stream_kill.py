"""Audit rows through the Redis stream survive the web process (issue 16): 16 parallel reset
requests against gunicorn with AUDIT_STREAM on, every gunicorn process SIGKILLed the moment the
last answer arrived, then a worker writes the stream: one row per answered request, none lost."""

import signal

import psutil
import pytest

from authsvc.services import audit_stream

from .harness import fire

COUNT = 16


@pytest.fixture(scope="module")
def server(start_gunicorn):
    return start_gunicorn(AUDIT_STREAM="true", SEND_LIMIT_PER_EMAIL="100 per 5 minutes;1000 per day")


def kill_all(process):
    """SIGKILL the gunicorn master and its workers at once: nothing runs after the answers."""
    tree = psutil.Process(process.pid)
    for each in [*tree.children(recursive=True), tree]:
        each.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_a_killed_web_process_loses_no_audit_row(server, state):
    def prepare(i, client):
        return {"email": f"person{i}@example.com", **client.captcha()}

    answers = fire(server.url, COUNT, prepare, lambda i, client, body: client.post("/password-resets", body))
    kill_all(server.process)
    assert [a.status for a in answers] == [202] * COUNT, answers
    assert state.audit_count("password.reset_requested") == 0  # nothing reached the database itself
    with state.app.app_context():
        written = audit_stream.drain("test-worker")
    assert written >= COUNT
    assert state.audit_count("password.reset_requested") == COUNT
    print(f"[race] audit stream: {COUNT} answered, killed, {written} rows written after")
