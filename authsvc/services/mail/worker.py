"""The mail worker loop: a thread in each web process (embedded) or its own process."""

import logging
import os
import socket
import threading
import time
import uuid

import redis

from ...extensions import db
from .. import audit_stream, metrics, ticks
from functools import partial

from . import delivery, queue, smtpconn, stats
from .claims import Claimed
from .delivery import Outcome, Result

log = logging.getLogger("authsvc.mail")

# the delivery figure each result adds to (the per-provider ones are counted per attempt)
COUNTED = {Result.EXPIRED: "expired", Result.DUPLICATE: "duplicate", Result.SUPPRESSED: "suppressed",
           Result.RETRY: "retried", Result.FAILED: "gave_up", Result.ERROR: "error"}


class MailWorker:
    """Claims jobs from the queue and delivers them inside the given app's context."""

    def __init__(self, app, worker_id=None, block_seconds=1.0):
        self.app = app
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.block_seconds = block_seconds
        self.stop_event = threading.Event()
        self._last_housekeeping = self._last_audit = 0.0
        self._last_ticks = 0.0
        self._ticks_every = None  # min(1 s, the shortest tick period): read once from the config
        self._requeue_own = True  # a restarted worker id may not exist yet; harmless then
        self.claimed = Claimed()  # jobs claimed in a batch, not yet delivered

    def write_audit(self, force=False):
        """Each second: the audit rows requests left in the Redis stream, into the database
        (batches of audit_stream.BATCH until it is empty, at most 20 batches a turn)."""
        now = time.monotonic()
        if not self.app.config["AUDIT_STREAM"] or (not force and now - self._last_audit < 1):
            return
        self._last_audit = now
        with self.app.app_context():
            try:
                for _turn in range(20):
                    if audit_stream.flush(self.worker_id) < audit_stream.BATCH:
                        break
            except Exception as exc:  # noqa: BLE001 - the database down must not stop the mail
                db.session.rollback()
                log.warning("audit rows wait in Redis: %s", exc.__class__.__name__)

    def housekeeping(self, force=False):
        """Heartbeat, due retries back onto the queue, dead workers' jobs handed out again."""
        self.write_audit(force)
        now = time.monotonic()
        if not force and now - self._last_housekeeping < 5:
            return
        self._last_housekeeping = now
        with self.app.app_context():
            # First what SMTP accepted while Redis (or its replicas) could not record it, so it
            # is never sent again; then, after an outage, what sits in our own list goes back.
            queue.record_unrecorded()
            if self._requeue_own:
                self.claimed.forget()
                queue.requeue_claimed(self.worker_id)
                self._requeue_own = False
            queue.heartbeat(self.worker_id)
            queue.promote_due()
            queue.reap_dead_workers()
            metrics.MAIL_QUEUE_DEPTH.set(queue.depth())
            metrics.MAIL_DEAD_LETTERS.set(queue.dead_count())
        smtpconn.close_idle()

    def operator_tasks(self):
        """Figures to the database, due reports, alerts: each once per its period across all
        workers (services/ticks.py); looked at every second at most."""
        now = time.monotonic()
        if self._ticks_every is None:
            with self.app.app_context():
                self._ticks_every = min(1.0, ticks.shortest_period())
        if now - self._last_ticks < self._ticks_every:
            return  # no app context pushed for nothing, once per job
        self._last_ticks = now
        with self.app.app_context():
            ticks.run_due()

    def process_one(self, block=True):
        """Claim, deliver and settle one job; returns its result ("sent", "retry", …) or None
        when the queue is empty."""
        self.housekeeping()
        if block:  # the loop (run), not a drain
            self.operator_tasks()
        with self.app.app_context():
            claimed = self.claimed.next(self.worker_id, self.block_seconds if block else 0)
            if claimed is None:
                return None
            job_id, job = claimed
            try:
                outcome = delivery.process_job(job_id, job)
            except redis.RedisError:
                raise  # the job stays claimed; run() hands it back once Redis answers again
            except Exception:  # noqa: BLE001 - a job that breaks the code must not loop forever
                log.exception("mail job %s dropped after an unexpected error", job_id)
                outcome = Outcome(Result.ERROR)
            self.settle(job_id, outcome)
            return outcome.result.value

    def settle(self, job_id, outcome):
        """The one place a claimed job leaves this worker: due again later, or acknowledged
        (done with for good, remembered as sent when it was), then counted."""
        report = {"result": outcome.result.value, "provider": outcome.provider,
                  "reason": outcome.reason, "worker": self.worker_id, "delay": outcome.delay}
        # its figures go in the same round trip as the settlement
        tally = list(outcome.tally)
        if outcome.result in COUNTED:
            tally.append(partial(stats.count, COUNTED[outcome.result]))
        if outcome.fell_back:
            tally.append(partial(stats.count, "fell_back"))
        if outcome.result is Result.RETRY:
            queue.retry_later(self.worker_id, outcome.job, outcome.delay, report=report, tally=tally)
        elif outcome.result is Result.FAILED and outcome.job:
            queue.dead_letter(self.worker_id, outcome.job, outcome.reason, report=report, tally=tally)
        else:
            queue.ack(self.worker_id, job_id, sent=outcome.result is Result.SENT, report=report, tally=tally)

    def deliver(self, job_id):
        """Deliver one given job now if no other worker has claimed it; its result or None."""
        self.housekeeping(force=True)
        try:
            with self.app.app_context():
                if not queue.claim_job(self.worker_id, job_id):
                    return None
                try:
                    outcome = delivery.process_job(job_id)
                except redis.RedisError:
                    raise
                except Exception:  # noqa: BLE001 - as in process_one
                    log.exception("mail job %s dropped after an unexpected error", job_id)
                    outcome = Outcome(Result.ERROR)
                self.settle(job_id, outcome)
                return outcome.result.value
        finally:
            smtpconn.close_all()

    def drain(self):
        """Deliver everything that is due now; returns the outcomes (tests, CLI)."""
        self.housekeeping(force=True)
        outcomes = []
        try:
            while (outcome := self.process_one(block=False)) is not None:
                outcomes.append(outcome)
        finally:
            smtpconn.close_all()
        return outcomes

    def run(self):
        """Loop until stop() is called; survives Redis and SMTP outages."""
        log.info("mail worker %s started", self.worker_id)
        while not self.stop_event.is_set():
            try:
                self.process_one()
            except (redis.RedisError, OSError) as exc:
                log.warning("mail worker %s: %s; retrying in 2 s", self.worker_id, exc)
                self.claimed.forget()
                self._requeue_own = True
                self._last_housekeeping = 0.0
                self.stop_event.wait(2)
            except Exception:  # noqa: BLE001 - the loop itself must survive anything
                log.exception("mail worker %s: unexpected error", self.worker_id)
                self.stop_event.wait(1)
        smtpconn.close_all()
        try:
            with self.app.app_context():
                queue.retire(self.worker_id)
        except redis.RedisError:
            pass

    def stop(self):
        self.stop_event.set()


def start_embedded(app):
    """Start a daemon worker thread for this process (MAIL_WORKER=embedded)."""
    worker = MailWorker(app)
    thread = threading.Thread(target=worker.run, name="authsvc-mail-worker", daemon=True)
    worker.thread = thread
    thread.start()
    app.extensions["authsvc.mail_worker"] = worker
    return worker
