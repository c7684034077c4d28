"""Durable delivery: retries, fallback, circuit breaker, permanent failures, figures, dedupe."""

import time

import pytest

from authsvc.services import mail
from authsvc.services.mail import MailWorker, smtpconn
from authsvc.services.mail import queue as mailqueue

from .support import SMTPServer, free_port

FAST_RETRIES = {"MAIL_RETRY_DELAYS": "0.2,0.3"}


@pytest.fixture(scope="module")
def fallback_smtp():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def fallback(fallback_smtp):
    fallback_smtp.clear()
    return fallback_smtp


def with_fallback(server):
    return {"MAIL_FALLBACK_SERVER": "127.0.0.1", "MAIL_FALLBACK_PORT": server.port,
            "MAIL_FALLBACK_USE_SSL": False, "MAIL_FALLBACK_SENDER": "backup@accounts.example.com"}


def queue(app, to="alice@example.com", n=1):
    with app.test_request_context():
        return [mail.queue_mail("test", to, {}) for _ in range(n)]


def figures(app):
    with app.app_context():
        return mail.figures()


def test_retry_then_success(make_service):
    service = make_service(**FAST_RETRIES)
    recorder = service.mailbox.server.recorder
    recorder.refuse_with, recorder.refuse_times = "421 4.3.2 try again later", 2
    queue(service.app)
    outcomes = service.mailbox.deliver_all()
    assert outcomes == ["retry", "retry", "sent"]
    assert len(service.mailbox.messages("alice@example.com")) == 1
    stats = figures(service.app)
    assert stats["retried"] == 2 and stats["sent"] == 1 and stats["by_provider"]["primary"]["failed"] == 2
    assert stats["success_rate"] == round(1 / 3, 4)


def test_primary_down_then_fallback_delivers(make_service, fallback):
    closed = free_port()
    service = make_service(MAIL_PORT=closed, **FAST_RETRIES, **with_fallback(fallback))
    queue(service.app)
    outcomes = service.mailbox.deliver_all()
    assert outcomes == ["retry", "retry", "sent"]  # two retries on the primary, then the fallback
    delivered = fallback.recorder.messages
    assert len(delivered) == 1 and delivered[0]["from"] == "backup@accounts.example.com"
    assert figures(service.app)["fell_back"] == 1


def test_circuit_opens_after_three_failures_and_closes_after_its_time(make_service, fallback):
    service = make_service(MAIL_CIRCUIT_THRESHOLD=3, MAIL_CIRCUIT_SECONDS=2, MAIL_RETRY_DELAYS="30,30",
                           **with_fallback(fallback))
    primary = service.mailbox.server.recorder
    primary.refuse_with = "421 4.3.2 overloaded"
    queue(service.app, n=3)
    # two failures leave their jobs for a retry; the third opens the circuit and falls back
    assert service.mailbox.deliver() == ["retry", "retry", "sent"]
    attempts_when_open = primary.attempts
    assert attempts_when_open == 3
    assert figures(service.app)["circuits_open"] == ["primary"]
    # while open, new mail skips the primary and goes straight to the fallback
    queue(service.app)
    assert service.mailbox.deliver() == ["sent"]
    assert primary.attempts == attempts_when_open
    assert len(fallback.recorder.messages) == 2
    # after MAIL_CIRCUIT_SECONDS the primary is tried again
    primary.refuse_with = None
    time.sleep(2.1)
    queue(service.app)
    assert service.mailbox.deliver() == ["sent"]
    assert primary.attempts == attempts_when_open + 1
    assert figures(service.app)["circuits_open"] == []


def test_permanent_failure_is_not_retried(make_service):
    service = make_service(**FAST_RETRIES)
    recorder = service.mailbox.server.recorder
    recorder.refuse_with = "550 5.1.1 no such mailbox"
    queue(service.app)
    assert service.mailbox.deliver_all() == ["rejected"]
    assert recorder.attempts == 1
    stats = figures(service.app)
    assert stats["retried"] == 0 and stats["by_provider"]["primary"]["rejected"] == 1


def test_retries_while_the_mail_is_useful_then_keeps_a_dead_letter(make_service):
    service = make_service(MAIL_PORT=free_port(), MAIL_RETRY_MAX_DELAY=1, MAIL_CIRCUIT_THRESHOLD=1000,
                           **FAST_RETRIES)
    with service.app.test_request_context():
        mail.queue_mail("test", "alice@example.com", {}, ttl=2)  # useful for 2 s
    # retries after 0.2 and 0.3 s (where it used to give up), then 0.6 s, then capped at 1 s,
    # until the next one would come after the mail stopped being useful: given up, kept for admins
    outcomes = service.mailbox.deliver_all()
    assert outcomes == ["retry"] * (len(outcomes) - 1) + ["failed"] and len(outcomes) >= 4, outcomes
    stats = figures(service.app)
    assert stats["gave_up"] == 1
    with service.app.app_context():
        dead = mail.overview()["dead_letters"]
    assert dead["count"] == 1 and dead["oldest_failed_at"].endswith("Z")
    [record] = dead["recent"]
    assert record["to"] == "a***@example.com" and record["template"] == "test"
    assert record["attempts"] == len(outcomes)
    assert record["reason"].startswith("primary: ConnectionRefusedError")
    with service.app.app_context():
        assert service.app.extensions["authsvc.redis"].keys("authsvc:mail:job:*") == []  # content dropped


def test_a_code_mailed_during_an_outage_arrives_when_a_server_is_back(make_service):
    """Every SMTP server down far longer than the old three attempts lasted (they gave up
    after ~35 s in production, 0.5 s here): the code mail keeps being retried and arrives."""
    port = free_port()
    service = make_service(MAIL_PORT=port, MAIL_RETRY_MAX_DELAY=1, MAIL_CIRCUIT_THRESHOLD=1000,
                           **FAST_RETRIES)
    assert service.api.register().status_code == 202
    outage_ends = time.time() + 6
    outcomes = []
    while time.time() < outage_ends:
        outcomes += service.mailbox.deliver()
        time.sleep(0.1)
    assert outcomes.count("retry") >= 5 and "failed" not in outcomes, outcomes
    restored = SMTPServer(port=port).start()
    try:
        service.mailbox.server = restored
        outcomes = service.mailbox.deliver_all(timeout=5)
        assert outcomes[-1] == "sent", outcomes
        code = service.mailbox.code("alice@example.com")
        assert service.api.confirm_registration("alice@example.com", code).status_code == 201
    finally:
        restored.stop()


def test_a_job_is_sent_once_even_if_handed_out_twice(app, mailbox):
    [job_id] = queue(app)
    assert mailbox.deliver() == ["sent"]
    redis = app.extensions["authsvc.redis"]
    # simulate a second copy of the id on the queue (e.g. a reaper racing a slow worker)
    from authsvc import keys

    redis.lpush(keys.MAIL_QUEUE, job_id)
    assert mailbox.deliver() in (["expired"], ["duplicate"])
    assert len(mailbox.messages("alice@example.com")) == 1


def test_delivery_decides_and_the_worker_settles_once(make_service):
    """process_job only returns an Outcome: the job stays claimed until the worker settles it."""
    from authsvc import keys
    from authsvc.services.mail.delivery import Result, process_job

    service = make_service(**FAST_RETRIES)
    recorder = service.mailbox.server.recorder
    recorder.refuse_with, recorder.refuse_times = "421 4.3.2 try again later", 1
    redis = service.app.extensions["authsvc.redis"]
    worker = MailWorker(service.app, worker_id="settling-worker")
    claimed = keys.mail_processing(worker.worker_id)
    [job_id] = queue(service.app)
    with service.app.app_context():
        assert mailqueue.claim_now(worker.worker_id) == job_id
        outcome = process_job(job_id)
        assert outcome.result is Result.RETRY and outcome.job["attempt"] == 1 and outcome.delay == 0.2
        assert redis.lrange(claimed, 0, -1) == [job_id.encode()]  # neither acknowledged nor requeued
        assert redis.zscore(keys.MAIL_DELAYED, job_id) is None
        worker.settle(job_id, outcome)
        assert redis.llen(claimed) == 0 and redis.zscore(keys.MAIL_DELAYED, job_id)
        assert mailqueue.load(job_id)["attempt"] == 1
        redis.zadd(keys.MAIL_DELAYED, {job_id: 0})
        mailqueue.promote_due()
        assert mailqueue.claim_now(worker.worker_id) == job_id
        outcome = process_job(job_id)
        assert outcome.result is Result.SENT and mailqueue.already_sent(job_id)  # recorded at the 250
        assert redis.lrange(claimed, 0, -1) == [job_id.encode()]
        worker.settle(job_id, outcome)
        assert redis.llen(claimed) == 0 and mailqueue.load(job_id) is None
    assert figures(service.app)["retried"] == 1


def test_dead_workers_jobs_are_handed_out_again(app, mailbox):
    queue(app, n=2)
    dead = MailWorker(app, worker_id="dead-worker")
    with app.app_context():
        mailqueue.heartbeat("dead-worker")
        assert mailqueue.claim_now("dead-worker")  # claimed, then the worker "dies"
        app.extensions["authsvc.redis"].delete("authsvc:mail:alive:dead-worker")
    assert dead.worker_id == "dead-worker"
    outcomes = mailbox.deliver()
    assert sorted(outcomes) == ["sent", "sent"]
    assert len(mailbox.messages("alice@example.com")) == 2


def test_mail_stats_endpoint(app, api, mailbox):
    from .test_audit import admin_token

    queue(app, n=2)
    mailbox.deliver()
    token = admin_token(app, api)
    stats = api.get("/admin/mail-stats", token=token).get_json()
    assert stats["sent"] >= 2 and stats["queue_depth"] == 0 and stats["latency_seconds_avg"] is not None
    assert sum(stats["latency_buckets"].values()) >= 2


def test_one_connection_carries_a_batch_and_a_dropped_one_is_replaced(make_service):
    server = SMTPServer().start()
    try:
        service = make_service(MAIL_PORT=server.port)
        queue(service.app, n=3)
        assert service.mailbox.deliver() == ["sent"] * 3
        assert server.recorder.sessions == 1 and len(server.recorder.messages) == 3

        # The server goes away between two messages of one worker (a new one takes its port):
        # the kept connection fails its NOOP and a new one carries the next message, once.
        worker = MailWorker(service.app, worker_id="reuse-worker")
        queue(service.app, to="bob@example.com", n=2)
        try:
            assert worker.process_one(block=False) == "sent"
            server.stop()
            server = SMTPServer(port=service.app.config["MAIL_PORT"]).start()
            assert worker.process_one(block=False) == "sent"
        finally:
            smtpconn.close_all()
        assert [m["to"] for m in server.recorder.messages] == [["bob@example.com"]]
        assert server.recorder.sessions == 1
    finally:
        server.stop()


def test_housekeeping_quits_a_connection_left_idle(make_service, monkeypatch):
    server = SMTPServer().start()
    try:
        service = make_service(MAIL_PORT=server.port)
        worker = MailWorker(service.app, worker_id="idle-worker")
        queue(service.app)
        assert worker.process_one(block=False) == "sent"
        worker.housekeeping(force=True)
        assert server.recorder.quits == 0  # just used: kept for the next message
        monkeypatch.setattr(smtpconn, "IDLE_SECONDS", 0)
        worker.housekeeping(force=True)
        assert server.recorder.quits == 1 and server.recorder.sessions == 1
    finally:
        smtpconn.close_all()
        server.stop()
