"""send-test-mail: one message through the real queue, and what became of it.

The message goes through the queue like any other, so a worker that is already running (the
dev server's embedded one, or a mail-worker process) may take it first; either way the worker
that settles it writes a report (queue.report), and that report is the answer.
"""

import time

from flask import current_app

from . import enqueue, queue
from .worker import MailWorker

POLL_SECONDS = 0.2


def send_test_message(to, wait=None):
    """Queue a test message to `to`, deliver it here unless another worker has claimed it,
    and wait up to `wait` seconds for its outcome; returns the report (see queue.report):
    result "sent", "rejected", "failed", "retry" (still queued, with the next delay), other
    final results, or "queued" when nobody settled it in time."""
    app = current_app._get_current_object()
    if wait is None:
        # the worst case of one attempt: primary and fallback each up to their timeout
        wait = 2 * app.config["MAIL_TIMEOUT"] + 5
    job_id = enqueue.queue_mail("test", to, {}, report=True)
    MailWorker(app).deliver(job_id)
    deadline = time.monotonic() + wait
    while True:
        found = queue.report(job_id) or {"result": "queued"}
        if found["result"] != "queued" or time.monotonic() >= deadline:
            return dict(found, waited=wait)
        time.sleep(POLL_SECONDS)
