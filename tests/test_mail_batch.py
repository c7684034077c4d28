"""Batch claims (services/mail/claims.py): a worker takes several jobs in one round trip from a
deep queue; a worker that dies holding a batch loses none of it and none goes out twice. Every
message is counted at a real SMTP server (aiosmtpd)."""

from authsvc.services import mail
from authsvc.services.mail import MailWorker
from authsvc.services.mail import queue as mailqueue

from .support import SMTPServer

ADDRESSES = [f"user{i}@example.com" for i in range(6)]


def queue_codes(app, addresses):
    with app.test_request_context():
        return [mail.send_code("login", to) for to in addresses]


def received(server):
    return sorted(to for message in server.recorder.messages for to in message["to"])


def test_a_dead_workers_batch_is_handed_out_again_and_each_mail_arrives_once(make_service):
    server = SMTPServer().start()
    try:
        service = make_service(MAIL_PORT=server.port, MAIL_CLAIM_BATCH=4)
        app, redis = service.app, service.app.extensions["authsvc.redis"]
        queue_codes(app, ADDRESSES)
        doomed = MailWorker(app, worker_id="doomed-worker")
        assert doomed.process_one(block=False) == "sent"  # claimed 4 at once, sent the first
        held = redis.lrange("authsvc:mail:processing:doomed-worker", 0, -1)
        assert len(held) == 3 and redis.llen("authsvc:mail:queue") == 2
        # It dies with three claimed: its heartbeat ends, its process never comes back.
        redis.delete("authsvc:mail:alive:doomed-worker")
        del doomed

        outcomes = service.mailbox.deliver()
        assert outcomes == ["sent"] * 5
        assert received(server) == sorted(ADDRESSES)  # each once: 6 messages, 6 addresses
        assert redis.llen("authsvc:mail:processing:doomed-worker") == 0
        with app.app_context():
            assert mail.queue_depth() == 0 and mail.figures()["sent"] == 6
    finally:
        server.stop()


def test_a_batch_takes_only_its_share_of_the_queue(make_service):
    service = make_service(MAIL_CLAIM_BATCH=10)
    app, redis = service.app, service.app.extensions["authsvc.redis"]
    queue_codes(app, ADDRESSES[:4])
    with app.app_context():
        mailqueue.heartbeat("other-worker")  # a second live worker: each may take half
    worker = MailWorker(app, worker_id="sharing-worker")
    assert worker.process_one(block=False) == "sent"
    assert redis.llen("authsvc:mail:processing:sharing-worker") == 1  # 2 claimed, 1 sent
    assert redis.llen("authsvc:mail:queue") == 2  # left for the other worker


def test_a_claimed_job_sent_meanwhile_by_another_worker_is_not_sent_again(make_service):
    server = SMTPServer().start()
    try:
        service = make_service(MAIL_PORT=server.port, MAIL_CLAIM_BATCH=3)
        app = service.app
        first, second, third = queue_codes(app, ADDRESSES[:3])
        worker = MailWorker(app, worker_id="slow-worker")
        assert worker.process_one(block=False) == "sent"  # holds the two others
        with app.app_context():
            mailqueue.mark_sent(second)  # e.g. handed out while this worker seemed dead, and sent
        assert worker.process_one(block=False) == "duplicate"
        assert worker.process_one(block=False) == "sent"
        assert received(server) == sorted([ADDRESSES[0], ADDRESSES[2]])
    finally:
        server.stop()
