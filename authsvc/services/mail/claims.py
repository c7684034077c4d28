"""Claiming jobs in batches: a worker facing a deep queue takes several jobs, with their sealed
content and whether each was already sent, in one round trip.

Each claimed id moves into the worker's processing list inside the script (LMOVE, as the
single claim does), so a batch is claimed exactly like that many single claims: a worker
killed with a batch in hand leaves it in its list, and another worker hands it out again once
the dead one's heartbeat has expired. A worker takes at most MAIL_CLAIM_BATCH jobs and at
most its share of the queue (its length divided by the live workers), so an idle worker never
waits while a busy one holds the queue's only jobs. Whether a job was sent is read again at
the quota reservation just before SMTP (quota.take), so reading it early here opens no gap.
"""

from collections import deque

from flask import current_app

from ... import keys
from ...extensions import redis_client
from . import queue

# KEYS: queue, the worker's processing list, the worker set. ARGV: the batch limit, the job
# key prefix, the done key prefix. Returns id, sealed content (or nil), sent (0/1) per job.
# (The job and done keys are derived inside: one Redis, or one Sentinel-managed master.)
CLAIM_BATCH_LUA = """
local depth = redis.call('LLEN', KEYS[1])
if depth == 0 then return {} end
local workers = math.max(1, redis.call('SCARD', KEYS[3]))
local take = math.min(tonumber(ARGV[1]), math.max(1, math.floor(depth / workers)))
local out = {}
for _ = 1, take do
  local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not id then break end
  out[#out + 1] = id
  out[#out + 1] = redis.call('GET', ARGV[2] .. id)
  out[#out + 1] = redis.call('EXISTS', ARGV[3] .. id)
end
return out
"""

SENT_MARK = "sent"  # in place of a claimed job's content: a server accepted it already


class Claimed:
    """A worker's claimed jobs not yet delivered: (job id, job dict / None / SENT_MARK) in order."""

    def __init__(self):
        self.jobs = deque()

    def next(self, worker_id, block_seconds):
        """The next claimed (job id, content), claiming a batch (or blocking up to `block_seconds` for one,
        when > 0) once the last one is used up; None when the queue is empty."""
        if not self.jobs:
            self.jobs.extend(claim_batch(worker_id))
        if not self.jobs and block_seconds:
            job_id = queue.claim(worker_id, block_seconds)
            if job_id is not None:
                job = queue.load(job_id)
                self.jobs.append((job_id, SENT_MARK if job is not None and queue.already_sent(job_id) else job))
        return self.jobs.popleft() if self.jobs else None

    def forget(self):
        """After an outage the processing list goes back to the queue as a whole: what is held
        here would otherwise be delivered while another worker has it too."""
        self.jobs.clear()


def claim_batch(worker_id, limit=None):
    """Claim up to `limit` (MAIL_CLAIM_BATCH) waiting jobs at once: [(job id, content)], the
    content a job dict, None (expired or unreadable), or SENT_MARK (accepted already)."""
    limit = limit or current_app.config["MAIL_CLAIM_BATCH"]
    raw = redis_client.script(CLAIM_BATCH_LUA)(
        keys=[keys.MAIL_QUEUE, keys.mail_processing(worker_id), keys.MAIL_WORKERS],
        args=[limit, keys.mail_job(""), keys.mail_done("")])
    claimed = []
    for at in range(0, len(raw), 3):
        job_id, job, sent = raw[at].decode(), queue.open_job(raw[at + 1]), raw[at + 2]
        claimed.append((job_id, SENT_MARK if job is not None and sent else job))  # as process_job orders them
    return claimed
