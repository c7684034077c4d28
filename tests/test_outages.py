"""Redis down or SMTP down: a clear 503, nothing lost, service resumes by itself; metrics; workers."""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from authsvc.services import mail

from .support import RedisServer, settings_env, wait_until

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def test_redis_down_answers_503_and_recovers(make_service, own_redis):
    service = make_service(REDIS_URL=own_redis.url, RATELIMIT_STORAGE_URI=None)
    user, token = service.register_user()
    own_redis.stop()
    api = service.api
    response = api.post("/registrations", json={
        "email": "bob@example.com", "username": "bob", "password": "correct horse battery",
        "captcha_id": "x" * 22, "captcha_answer": "ABCD"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    assert api.get("/me", token=token).status_code == 503
    assert api.post("/captcha").status_code == 503
    ready = service.app.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["checks"]["redis"].startswith("error")
    page = service.app.test_client().get("/login")
    assert page.status_code == 503 and "服务暂时不可用" in page.get_data(as_text=True)
    assert service.app.test_client().get("/healthz").status_code == 200  # the process is alive
    own_redis.start()
    assert wait_until(lambda: service.app.test_client().get("/readyz").status_code == 200, timeout=10)
    # users live in SQL: intact; sign-in works again
    again = api.post("/sessions", json={"login": "alice", "password": "correct horse battery"})
    assert again.status_code == 200 and again.get_json()["user"]["id"] == user["id"]


def test_redis_lost_while_the_answer_is_finished_answers_503_not_500(make_service, own_redis):
    """Found by the Sentinel failover test: Redis went away between the request limit's check
    and Flask-Limiter's header hook (after the view), and that answered 500."""
    # as in production: an exception Flask cannot hand to a handler becomes its 500 answer
    service = make_service(REDIS_URL=own_redis.url, RATELIMIT_STORAGE_URI=None, PROPAGATE_EXCEPTIONS=False)

    @service.app.after_request
    def redis_goes_away(response):  # after_request hooks run last-registered first: before the limiter's
        own_redis.stop()  # kills the server (once: later calls find it stopped)
        return response

    answer = service.api.post("/captcha")
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "unavailable"


def test_database_down_answers_503(app, make_service, tmp_path):
    service = make_service(DATABASE_URL=f"sqlite:///{tmp_path}/missing/dir/db.sqlite3",
                           SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/db.sqlite3")
    response = service.api.post("/sessions", json={"login": "alice", "password": "whatever123"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    assert service.app.test_client().get("/readyz").get_json()["checks"]["database"].startswith("error")


def test_metrics_move_with_traffic(app, api, register_user, mailbox):
    client = app.test_client()

    def value(text, name, **labels):
        selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
        match = re.search(rf"^{name}\{{{selector}\}} ([0-9.e+]+)$", text, re.M)
        return float(match.group(1)) if match else 0.0

    before = client.get("/metrics").get_data(as_text=True)
    register_user()
    api.post("/sessions", json={"login": "alice", "password": "wrong password!"})
    after = client.get("/metrics").get_data(as_text=True)
    assert value(after, "authsvc_codes_issued_total", purpose="register") == \
        value(before, "authsvc_codes_issued_total", purpose="register") + 1
    assert value(after, "authsvc_codes_verified_total", purpose="register", result="ok") >= 1
    assert value(after, "authsvc_logins_total", method="password", result="failure") >= 1
    assert value(after, "authsvc_mail_sent_total", provider="primary", result="sent") >= 1
    assert "authsvc_request_seconds_bucket" in after and "authsvc_mail_queue_depth" in after


def test_metrics_token(make_service):
    client = make_service(METRICS_TOKEN="s3cret-metrics").app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"}).status_code == 200


def _worker(env):
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "mail-worker"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_killed_worker_loses_nothing(make_app, base_config, smtp_server):
    config = dict(base_config, MAIL_WORKER_HEARTBEAT_TTL=2)
    app = make_app(MAIL_WORKER_HEARTBEAT_TTL=2)
    # A slow server: the worker waits at RCPT, before the message is committed. A kill there
    # must neither lose the message nor send it twice. (Killed after the server committed the
    # message but before the worker heard its 250, a duplicate with the same Message-ID is
    # possible in any SMTP client; the worker records acceptance first thing to keep that short.)
    smtp_server.recorder.rcpt_delay = 0.05
    with app.test_request_context():
        ids = {mail.queue_mail("test", f"user{i}@example.com", {}) for i in range(40)}
    env = settings_env(config)
    first = _worker(env)
    recorder = smtp_server.recorder
    assert wait_until(lambda: len(recorder.messages) >= 5 and recorder.waiting_in_rcpt, timeout=20, interval=0.005)
    first.send_signal(signal.SIGKILL)
    first.wait()
    delivered_at_kill = len(smtp_server.recorder.messages)
    assert delivered_at_kill < 40, "the worker finished before it could be killed"
    second = _worker(env)
    try:
        assert wait_until(lambda: len(smtp_server.recorder.messages) >= 40, timeout=40)
        time.sleep(0.5)
    finally:
        second.terminate()
        second.wait(10)
    seen = [m["message"]["X-Authsvc-Job"] for m in smtp_server.recorder.messages]
    assert sorted(seen) == sorted(ids)  # every message exactly once
    with app.app_context():
        assert mail.queue_depth() == 0


def test_embedded_worker_thread_is_started_by_the_first_request(make_app, tmp_path):
    app = make_app(AUTHSVC_ENV="development", SECRET_KEY="d" * 40, CAPTCHA_FIXED_TEXT=None,
                   MAIL_WORKER="embedded", INSTANCE_PATH=str(tmp_path))
    assert "authsvc.mail_worker" not in app.extensions
    app.test_client().get("/healthz")
    assert app.extensions["authsvc.mail_worker"].thread.is_alive()


def test_production_serves_no_metrics_to_the_public_without_a_token(make_service):
    # authsvc_mail_sent_total moves only when a real account is mailed: polled around a reset
    # request, a public /metrics would say which addresses have accounts.
    production = {"AUTHSVC_ENV": "production", "SECRET_KEY": "p" * 48, "CAPTCHA_FIXED_TEXT": None,
                  "BCRYPT_ROUNDS": 10, "SESSION_COOKIE_SECURE": False}
    closed = make_service(**production).app.test_client().get("/metrics")
    assert closed.status_code == 401
    assert closed.get_json()["error"]["code"] == "unauthorized"
    assert b"authsvc_mail_sent_total" not in closed.data
    # an operator with a private scrape network says so explicitly
    opened = make_service(**production, METRICS_PUBLIC=True).app.test_client().get("/metrics")
    assert opened.status_code == 200 and b"authsvc_mail_sent_total" in opened.data
    # a token is required whenever one is set, public or not
    tokened = make_service(**production, METRICS_PUBLIC=True, METRICS_TOKEN="t" * 32).app.test_client()
    assert tokened.get("/metrics").status_code == 401
    assert tokened.get("/metrics", headers={"Authorization": "Bearer " + "t" * 32}).status_code == 200
