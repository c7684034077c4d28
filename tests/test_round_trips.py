"""A code send costs two Redis round trips (issue 16): the send-limit script, which also checks
the client's network for a block, then one pipeline with the code, the queued mail and the audit
rows, sent just before the answer (authsvc/redis_writes.py). Counted at the client's socket:
each write of packed commands is one round trip. Real Redis, real SMTP."""

import threading

import pytest
from redis.connection import AbstractConnection

from authsvc.extensions import db
from authsvc.models import AuditEvent
from authsvc.services import audit_stream, ipblocks

CLIENT = "198.51.100.7"  # not loopback: the blocked-network check applies to it


class RoundTrips:
    """Writes of packed commands to any Redis socket while counting (the real send still runs)."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = AbstractConnection.send_packed_command

        def counting(conn, command, check_health=True):
            self.count += 1
            return original(conn, command, check_health)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)

    def during(self, action):
        self.count = 0
        result = action()
        return self.count, result


@pytest.fixture
def service(make_service):
    return make_service(CAPTCHA_ENABLED=False, AUDIT_STREAM=True, RESEND_COOLDOWN=0)


def test_each_code_send_is_two_round_trips_and_its_code_works(service, monkeypatch):
    api, mailbox = service.api, service.mailbox
    registered = api.post("/registrations", json={"email": "new@example.com", "username": "newbie",
                                                  "password": "correct horse battery"}, ip=CLIENT)
    assert registered.status_code == 202
    trips = RoundTrips(monkeypatch)
    sends = {
        "reset": lambda: api.post("/password-resets", json={"email": "alice@example.com"}, ip=CLIENT),
        "login code": lambda: api.post("/login-codes", json={"email": "alice@example.com"}, ip=CLIENT),
        "registration resend": lambda: api.resend_registration("new@example.com", ip=CLIENT),
    }
    for name, send in sends.items():
        count, answer = trips.during(send)
        assert answer.status_code == 202, (name, answer.get_json())
        assert count == 2, f"{name}: {count} round trips"
    # what the second round trip carried arrived: the resent code confirms the registration,
    # and the audit rows reached the stream
    confirmed = api.confirm_registration("new@example.com", mailbox.code("new@example.com"), ip=CLIENT)
    assert confirmed.status_code == 201, confirmed.get_json()
    with service.app.app_context():
        audit_stream.drain()
        events = [e for (e,) in db.session.execute(db.select(AuditEvent.event))]
    assert events.count("password.reset_requested") == 1 and events.count("code.issued") >= 4


def test_scripts_missing_from_redis_are_sent_again(service):
    """After a restart or a failover Redis knows no scripts: the pipelined EVALSHA answers
    NOSCRIPT and is repeated as EVAL, so the code still goes out and still works."""
    api, mailbox = service.api, service.mailbox
    service.register_user()
    service.app.extensions["authsvc.redis"].script_flush()
    answer = api.post("/password-resets", json={"email": "alice@example.com"}, ip=CLIENT)
    assert answer.status_code == 202, answer.get_json()
    reset = api.post("/password-resets/confirm", json={
        "email": "alice@example.com", "code": mailbox.code("alice@example.com"),
        "new_password": "a brand new passphrase"}, ip=CLIENT)
    assert reset.status_code == 200, reset.get_json()


def test_a_blocked_network_is_refused_in_the_send_limit_script_and_charged_nothing(service):
    app, api = service.app, service.api
    with app.test_request_context():
        ipblocks.add(CLIENT, "test", 1)
    redis = app.extensions["authsvc.redis"]
    refused = api.post("/password-resets", json={"email": "alice@example.com"}, ip=CLIENT)
    body = refused.get_json()["error"]
    assert refused.status_code == 429 and "网络" in body["message"] and "Retry-After" in refused.headers
    assert not list(redis.scan_iter("authsvc:send:*")) and not redis.llen("authsvc:mail:queue")
    # a request that stops before its send (no body) is still refused as blocked, not 422
    empty = api.post("/password-resets", json={}, ip=CLIENT)
    assert empty.status_code == 429 and "网络" in empty.get_json()["error"]["message"]
    # others are served
    assert api.post("/password-resets", json={"email": "alice@example.com"}, ip="198.51.100.99").status_code == 202


def test_a_failed_write_pipeline_answers_503_not_500(service):
    """The queue key holding the wrong type makes the pipeline's mail write fail: the request
    says the service is unavailable (retry), never an internal error."""
    redis = service.app.extensions["authsvc.redis"]
    redis.set("authsvc:mail:queue", "not a list")
    answer = service.api.post("/password-resets", json={"email": "alice@example.com"}, ip=CLIENT)
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "unavailable"


def test_after_a_failover_the_wait_for_replicas_follows_the_writes_repeated_as_eval(make_service):
    """With REDIS_WAIT_REPLICAS the client is told its mail was queued only once replicas have
    the job. After a failover the new master knows no scripts: the pipeline's EVALSHAs answer
    NOSCRIPT, the WAIT queued after them returns at once (it covers nothing yet), and the job
    is written afterwards by the EVAL repeat, which no WAIT covered. Seen with MONITOR on the
    real server: the last write of the request must come before its last WAIT (failed before)."""
    service = make_service(CAPTCHA_ENABLED=False, RESEND_COOLDOWN=0, REDIS_WAIT_REPLICAS=1, REDIS_WAIT_MS=10)
    redis = service.app.extensions["authsvc.redis"]
    seen, ready, done = [], threading.Event(), threading.Event()

    def watch():
        with redis.monitor() as monitor:
            ready.set()
            for command in monitor.listen():
                seen.append(command["command"])
                if done.is_set() and "DONE-MARKER" in command["command"]:
                    return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert ready.wait(5)
    redis.script_flush()  # what a failed-over master knows of our scripts
    answer = service.api.post("/password-resets", json={"email": "alice@example.com"}, ip=CLIENT)
    done.set()
    redis.get("DONE-MARKER")
    watcher.join(5)
    assert answer.status_code == 202, answer.get_json()
    writes = [i for i, c in enumerate(seen) if c.startswith(("EVAL ", "EVALSHA ")) and "authsvc:mail:queue" in c]
    waits = [i for i, c in enumerate(seen) if c.startswith("WAIT ")]
    assert writes and waits, seen
    assert seen[writes[-1]].startswith("EVAL ")  # the job was written by the repeat
    assert waits[-1] > writes[-1], "the job written by the EVAL repeat was not waited for"
