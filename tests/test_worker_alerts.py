"""Alerts from the worker for operators without Prometheus: a local HTTP server receives the
webhook while the primary SMTP server is stopped and started again; one post (and one mail to
ALERT_EMAILS) when a condition starts, none while it goes on, one when it ends."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from authsvc import crypto
from authsvc.services import mail
from authsvc.services.alerts import engine
from authsvc.services.mail import MailWorker

from .support import SMTPServer, free_port, html_of, text_of, wait_until


class Hook:
    """A webhook receiver (http.server in a thread) keeping every JSON body posted to it."""

    def __init__(self, port=None, answer=b'{"errcode": 0}'):
        self.posts, self.answer = [], answer
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(hook.answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    receiver = Hook()
    yield receiver
    receiver.stop()


def states(posts, alert="AuthsvcMailSuccessRateLow"):
    return [p["state"] for p in posts if p["alert"] == alert]


def test_primary_down_then_back_one_post_and_one_mail_per_change(make_app, hook):
    port = free_port()
    app = make_app(MAIL_PORT=port, ALERT_WEBHOOK_URL=hook.url, ALERT_WEBHOOK_FORMAT="json",
                   ALERT_EMAILS="ops@example.com", ALERT_EVALUATE_EVERY=1, ALERT_MAIL_WINDOW=10,
                   ALERT_MAIL_MIN_ATTEMPTS=3, MAIL_CIRCUIT_THRESHOLD=1000, MAIL_RETRY_DELAYS="0.5",
                   MAIL_RETRY_MAX_DELAY=1)
    worker = MailWorker(app, worker_id="alerting-worker")  # the real loop, as `flask mail-worker` runs it
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    smtp = None
    try:
        with app.test_request_context():  # the primary is down: these fail and are retried
            for n in range(3):
                mail.queue_mail("test", f"user{n}@example.com", {})
        assert wait_until(lambda: states(hook.posts) == ["firing"], timeout=20), hook.posts
        [firing] = hook.posts
        assert set(firing) == {"alert", "state", "summary", "at"} and firing["at"].endswith("Z")
        assert "邮件成功率" in firing["summary"]  # the default language
        time.sleep(4)  # it goes on: evaluated every second, told once
        assert states(hook.posts) == ["firing"], hook.posts
        smtp = SMTPServer(port=port).start()  # the server is back
        assert wait_until(lambda: states(hook.posts) == ["firing", "resolved"], timeout=40), hook.posts
        assert wait_until(lambda: len([m for m in smtp.recorder.messages if m["to"] == ["ops@example.com"]]) == 2,
                          timeout=20)
        with app.test_request_context():
            mail.queue_mail("test", "later@example.com", {})  # mail flows
        assert wait_until(lambda: any(m["to"] == ["later@example.com"] for m in smtp.recorder.messages), timeout=15)
        time.sleep(2)
        assert states(hook.posts) == ["firing", "resolved"]
        assert [p["alert"] for p in hook.posts] == ["AuthsvcMailSuccessRateLow"] * 2
    finally:
        worker.stop()
        thread.join(timeout=15)
        if smtp:
            smtp.stop()
    alerts = [m["message"] for m in smtp.recorder.messages if m["to"] == ["ops@example.com"]]
    assert len(alerts) == 2
    subjects = [m["subject"] for m in alerts]
    assert "告警开始" in subjects[0] and "告警结束" in subjects[1], subjects
    assert "AuthsvcMailSuccessRateLow" in text_of(alerts[0]) and "AuthsvcMailSuccessRateLow" in html_of(alerts[1])


def test_a_failing_webhook_is_retried_next_evaluation_and_never_stops_the_worker(make_service):
    port = free_port()
    service = make_service(MAIL_DAILY_QUOTA=1, ALERT_WEBHOOK_URL=f"http://127.0.0.1:{port}/robot/send?access_token=t",
                           ALERT_WEBHOOK_FORMAT="dingtalk")
    with service.app.test_request_context():
        mail.queue_mail("test", "alice@example.com", {})
    service.mailbox.deliver()  # 1 of 1: the quota alert
    with service.app.app_context():
        assert engine.evaluate() == (["quota:primary"], [])  # the hook is down: logged, kept
        assert engine.evaluate() == ([], [])
    receiver = Hook(port=port)
    try:
        with service.app.app_context():
            engine.evaluate()  # delivered now, once
            engine.evaluate()
        [post] = receiver.posts
        assert post["msgtype"] == "markdown" and set(post["markdown"]) == {"title", "text"}
        assert "AuthsvcMailQuotaHigh" in post["markdown"]["title"] and "1" in post["markdown"]["text"]
    finally:
        receiver.stop()


def test_a_refusing_robot_counts_as_a_failure_and_wecom_has_its_shape(make_service):
    receiver = Hook(answer=b'{"errcode": 45009, "errmsg": "api freq out of limit"}')
    try:
        service = make_service(MAIL_DAILY_QUOTA=1, ALERT_WEBHOOK_URL=receiver.url, ALERT_WEBHOOK_FORMAT="wecom")
        with service.app.test_request_context():
            mail.queue_mail("test", "alice@example.com", {})
        service.mailbox.deliver()
        with service.app.app_context():
            engine.evaluate()
            receiver.answer = b'{"errcode": 0}'
            engine.evaluate()
        assert len(receiver.posts) == 2 and receiver.posts[0] == receiver.posts[1]  # the refused one again
        assert receiver.posts[0]["msgtype"] == "markdown" and set(receiver.posts[0]["markdown"]) == {"content"}
    finally:
        receiver.stop()


def test_each_condition_from_redis_figures(make_service):
    from authsvc.services.alerts import conditions

    service = make_service(MAIL_PORT=free_port(), MAIL_CIRCUIT_THRESHOLD=1, MAIL_RETRY_DELAYS="30",
                           SEND_LIMIT_PER_IP="1 per hour")
    with service.app.test_request_context():
        mail.queue_mail("test", "alice@example.com", {}, ttl=1)
    assert service.mailbox.deliver() == ["failed"]  # useful for 1 s: given up at once
    for n in range(12):
        service.api.post("/login-codes", json={"email": f"x{n}@example.com", **service.api.captcha()})
    with service.app.app_context():
        found = conditions.firing()
    assert found["circuit_open:primary"][0] == "AuthsvcMailCircuitOpen"
    assert found["mail_given_up"] == ("AuthsvcMailGivenUp", {"count": 1})
    assert found["code_sends_refused"] == ("AuthsvcCodeSendsRefused", {"count": 11, "client": "127.0.0.1", "top": 11})
    assert "queue_stuck" not in found  # the one admitted code mail waits, but not for 60 s yet
    redis = service.app.extensions["authsvc.redis"]
    key = f"authsvc:mail:job:{redis.lindex('authsvc:mail:queue', -1).decode()}"
    with service.app.app_context():
        job = json.loads(crypto.unseal(redis.get(key)))
        redis.set(key, crypto.seal(json.dumps(dict(job, queued_at=time.time() - 90)).encode()), keepttl=True)
        name, params = conditions.firing()["queue_stuck"]
    assert name == "AuthsvcMailQueueStuck" and 90 <= params["seconds"] < 95


def test_weekly_code_usage_below_70_percent_of_the_mailed_codes(app):
    from datetime import timedelta

    from authsvc.extensions import db
    from authsvc.models import DailyFigure
    from authsvc.services.alerts import conditions
    from authsvc.timefmt import local_day

    with app.app_context():
        today = local_day()
        db.session.add_all([DailyFigure(day=today - timedelta(days=2), name="codes.mailed", value=30),
                            DailyFigure(day=today - timedelta(days=2), name="codes.used", value=20),
                            DailyFigure(day=today - timedelta(days=9), name="codes.mailed", value=500)])  # last week
        db.session.commit()
        assert conditions.firing()["code_usage"] == ("AuthsvcCodeUsageLow", {"rate": 0.6667, "mailed": 30})
        app.extensions["authsvc.redis"].hset(f"authsvc:figures:{today.isoformat()}", "codes.used", 2)  # today, not saved yet
        assert "code_usage" not in conditions.firing()  # 22 of 30: 73 %


def test_two_running_workers_tell_a_start_once(make_service, hook):
    from authsvc.services import ticks

    service = make_service(MAIL_DAILY_QUOTA=1, ALERT_WEBHOOK_URL=hook.url, ALERT_EVALUATE_EVERY=1,
                           ALERT_EMAILS="ops@example.com")
    with service.app.test_request_context():
        mail.queue_mail("test", "alice@example.com", {})
    workers = [MailWorker(service.app, worker_id=f"w{n}") for n in range(2)]
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    try:
        assert wait_until(lambda: len(hook.posts) >= 1, timeout=15)
        time.sleep(3)  # three periods, two workers: still one post
        with service.app.app_context():
            claims = [ticks.claim("alerts") for _ in range(3)]
    finally:
        for worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(timeout=10)
    assert [(p["alert"], p["state"]) for p in hook.posts] == [("AuthsvcMailQuotaHigh", "firing")]
    assert claims.count(True) <= 1  # within one period only one claim succeeds
    with service.app.app_context():
        assert mail.queue_depth() == 1  # the alert mail waits: the only server is at its quota
