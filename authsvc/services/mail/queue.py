"""The mail queue in Redis, the workers' side: they claim jobs by BLMOVE into a per-worker list
and settle them after SMTP (enqueue.py: how a request puts a sealed job in).

A job is removed from its worker's processing list only once the SMTP server accepted it
(or it was dropped for good). A worker that dies leaves its claimed jobs behind; any
other worker hands them out again once the dead worker's heartbeat has expired.
"""

import json
import time

import redis

from flask import current_app

from ... import crypto, keys
from ...extensions import redis_client
from ..validation import mask_email
from . import oneshot


def seal(job):
    """A job as stored: encrypted and authenticated (load() opens it)."""
    return crypto.seal(json.dumps(job).encode())


# --- claiming and settling ------------------------------------------------------------------------
# KEYS: delayed zset, queue. ARGV: now. Moves due retries back onto the queue.
PROMOTE_LUA = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('LPUSH', KEYS[2], id)
end
return #due
"""


def heartbeat(worker_id):
    """Mark the worker alive; its claimed jobs are safe while this key lives."""
    pipe = redis_client.pipeline(transaction=False)
    pipe.sadd(keys.MAIL_WORKERS, worker_id)
    pipe.set(keys.mail_worker_alive(worker_id), "1", ex=keys.mail_worker_alive_ttl())
    pipe.execute()


def retire(worker_id):
    """A clean shutdown: give back anything claimed and forget the worker."""
    requeue_claimed(worker_id)
    redis_client.delete(keys.mail_worker_alive(worker_id))
    redis_client.srem(keys.MAIL_WORKERS, worker_id)


def promote_due():
    """Move retries whose time has come onto the queue."""
    return int(redis_client.script(PROMOTE_LUA)(keys=[keys.MAIL_DELAYED, keys.MAIL_QUEUE],
                                                args=[time.time()]))


def reap_dead_workers():
    """Hand out again the jobs of workers whose heartbeat expired; returns how many."""
    moved = 0
    for raw in redis_client.smembers(keys.MAIL_WORKERS):
        worker_id = raw.decode()
        if redis_client.exists(keys.mail_worker_alive(worker_id)):
            continue
        moved += requeue_claimed(worker_id)
        redis_client.srem(keys.MAIL_WORKERS, worker_id)
    return moved


def requeue_claimed(worker_id):
    """Put a worker's claimed jobs back on the queue; returns how many."""
    moved = 0
    # LMOVE is atomic per job, so two reapers never duplicate one.
    while redis_client.lmove(keys.mail_processing(worker_id), keys.MAIL_QUEUE, "RIGHT", "RIGHT"):
        moved += 1
    return moved


def claim(worker_id, timeout):
    """Block up to `timeout` seconds for a job id; it moves to the worker's processing list."""
    raw = redis_client.blmove(keys.MAIL_QUEUE, keys.mail_processing(worker_id), timeout,
                              "RIGHT", "LEFT")
    return raw.decode() if raw else None


def load(job_id):
    """The job's content, or None when it expired (its secret outlived) or can't be read."""
    return open_job(redis_client.get(keys.mail_job(job_id)))


def open_job(sealed):
    """A sealed job's content, or None (gone, or can't be read)."""
    if sealed is None:
        return None
    try:
        return json.loads(crypto.unseal(sealed))
    except (crypto.InvalidToken, ValueError):
        return None


# Jobs an SMTP server accepted whose record did not reach Redis (or its replicas) for sure:
# written again by this process's worker before it touches the queue after an outage.
UNRECORDED = set()


def mark_sent(job_id):
    """Record the SMTP server's acceptance at once: the job must never be sent again. With
    REDIS_WAIT_REPLICAS the record also waits for the replicas, so a failover keeps it; if
    Redis (or the wait) fails, the worker records it again once Redis answers."""
    replicas = current_app.config["REDIS_WAIT_REPLICAS"]
    try:
        pipe = redis_client.pipeline(transaction=False)
        pipe.set(keys.mail_done(job_id), "1", ex=keys.MAIL_DONE_TTL)
        if replicas:
            pipe.execute_command("WAIT", replicas, current_app.config["REDIS_WAIT_MS"])
        answers = pipe.execute()
    except redis.RedisError:
        UNRECORDED.add(job_id)
        raise
    if replicas and answers[-1] < replicas:
        UNRECORDED.add(job_id)


def record_unrecorded():
    """Write the acceptances that an outage or failover may have lost (idempotent)."""
    for job_id in list(UNRECORDED):
        redis_client.set(keys.mail_done(job_id), "1", ex=keys.MAIL_DONE_TTL)
        UNRECORDED.discard(job_id)


def already_sent(job_id):
    return bool(redis_client.exists(keys.mail_done(job_id)))


def ack(worker_id, job_id, sent, report=None, tally=()):
    """Finish a job: remember it was sent (if so), drop its content and its claim; count the
    `tally` (figures: f(pipe=...) each) in the same round trip."""
    pipe = oneshot.Recorder()  # one script call, atomic like MULTI/EXEC (oneshot.py)
    if sent:
        pipe.set(keys.mail_done(job_id), "1", ex=keys.MAIL_DONE_TTL)
    pipe.delete(keys.mail_job(job_id))
    pipe.lrem(keys.mail_processing(worker_id), 1, job_id)
    _write_report(pipe, job_id, report, tally)
    pipe.execute()


def retry_later(worker_id, job, delay, report=None, tally=()):
    """Store the job's new attempt count and schedule it `delay` seconds from now."""
    pipe = oneshot.Recorder()
    pipe.set(keys.mail_job(job["id"]), seal(job), keepttl=True, xx=True)
    pipe.zadd(keys.MAIL_DELAYED, {job["id"]: time.time() + delay})
    pipe.lrem(keys.mail_processing(worker_id), 1, job["id"])
    _write_report(pipe, job["id"], report, tally)
    pipe.execute()


def dead_letter(worker_id, job, reason, report=None, tally=()):
    """Give up on a job for good: drop its content and keep a record admins see (no secret)."""
    record = {"id": job["id"], "template": job["template"], "to": mask_email(job["to"]),
              "queued_at": job["queued_at"], "failed_at": time.time(),
              "attempts": job.get("attempt", 0) + 1, "reason": reason}
    pipe = oneshot.Recorder()
    pipe.lpush(keys.MAIL_DEAD, json.dumps(record))
    pipe.ltrim(keys.MAIL_DEAD, 0, keys.MAIL_DEAD_KEEP - 1)
    pipe.delete(keys.mail_job(job["id"]))
    pipe.lrem(keys.mail_processing(worker_id), 1, job["id"])
    _write_report(pipe, job["id"], report, tally)
    pipe.execute()


def oldest_waiting():
    """When the oldest job waiting for a worker was queued (Unix time), or None."""
    raw = redis_client.lindex(keys.MAIL_QUEUE, -1)
    job = load(raw.decode()) if raw else None
    return job["queued_at"] if job else None


def dead_count():
    return int(redis_client.llen(keys.MAIL_DEAD))


def dead_letters(limit=20):
    """(how many, the newest `limit` records, the oldest record or None)."""
    pipe = redis_client.pipeline(transaction=False)
    pipe.llen(keys.MAIL_DEAD)
    pipe.lrange(keys.MAIL_DEAD, 0, limit - 1)
    pipe.lindex(keys.MAIL_DEAD, -1)
    count, newest, oldest = pipe.execute()
    return int(count), [json.loads(r) for r in newest], json.loads(oldest) if oldest else None


def _write_report(pipe, job_id, report, tally=()):
    # XX: only a job queued with report=True has the key; the others cost nothing more
    # than this one command inside the same round trip. The figures go in it too.
    if report is not None:
        pipe.set(keys.mail_report(job_id), json.dumps(report), xx=True, keepttl=True)
    for add in tally:
        add(pipe=pipe)


def report(job_id):
    """What became of a job queued with report=True: {"result": "queued"} until a worker
    settled it, then {"result", "provider", "reason", "worker", "delay"}; None once forgotten."""
    raw = redis_client.get(keys.mail_report(job_id))
    return json.loads(raw) if raw else None


# KEYS: queue, the worker's processing list. ARGV: job id. Claims that job if still waiting.
CLAIM_JOB_LUA = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0
"""


def claim_job(worker_id, job_id):
    """Claim one given job if no worker has taken it yet; True when this worker has it."""
    return bool(redis_client.script(CLAIM_JOB_LUA)(
        keys=[keys.MAIL_QUEUE, keys.mail_processing(worker_id)], args=[job_id]))


def depth():
    """Jobs waiting now plus jobs waiting for a retry."""
    pipe = redis_client.pipeline(transaction=False)
    pipe.llen(keys.MAIL_QUEUE)
    pipe.zcard(keys.MAIL_DELAYED)
    waiting, delayed = pipe.execute()
    return int(waiting) + int(delayed)


def claim_now(worker_id):
    """Non-blocking claim (drains in tests and the CLI)."""
    raw = redis_client.lmove(keys.MAIL_QUEUE, keys.mail_processing(worker_id), "RIGHT", "LEFT")
    return raw.decode() if raw else None
