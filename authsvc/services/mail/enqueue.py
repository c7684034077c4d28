"""The request side of the mail queue: a mail job is sealed into Redis and queued, and the
request returns (queue.py: what the workers do with it).

Whether the address has an account is decided by the worker (the job's `account` rule), so
requests for registered and unregistered addresses do the same work and take the same time.
"""

import json
import time
import uuid

from flask import current_app
from flask_babel import get_locale

from ... import keys, redis_writes
from ...extensions import redis_client
from ...requestinfo import client_ip, user_agent
from .. import codes
from . import queue

NOTICE_TTL = 2 * 86400  # a notice without a secret may wait two days for delivery

# account rules, applied by the worker once it knows whether the address has an account
ALWAYS = "always"
IF_ACCOUNT = "if_account"  # send only to an active account's address (reset, code login)
IF_NO_ACCOUNT = "if_no_account"  # send; but to an account's owner send `alternate` instead


def current_language():
    locale = get_locale()
    return locale.language if locale else "zh"


def queue_mail(template, to, context, *, ttl=NOTICE_TTL, account=ALWAYS, alternate=None,
               essential=True, lang=None, report=False):
    """Seal a mail job into Redis and queue it; returns the job id. With `report`, whichever
    worker settles the job writes what became of it where report() reads it."""
    now = time.time()
    useful_for = min(ttl, current_app.config["MAIL_NOTICE_USEFUL_FOR"])  # a code mail: its code's life
    job = {
        "id": uuid.uuid4().hex,
        "template": template,
        "to": to,
        "lang": lang or current_language(),
        "ctx": dict(context, ip=client_ip(), ua=user_agent(), at=now),
        "account": account,
        "alternate": alternate,
        "essential": essential,
        "queued_at": now,
        "deadline": now + useful_for,  # retried until then; a code mail until its code expires
        "attempt": 0,
    }
    # with the request's other writes, sent just before its answer (redis_writes.py), else now
    pipe = redis_writes.pipeline()
    deferred = pipe is not None
    if not deferred:
        pipe = redis_client.pipeline(transaction=False)
    if report:  # before the job is queued: a worker never finds a reported job without its report
        pipe.set(keys.mail_report(job["id"]), json.dumps({"result": "queued"}), ex=keys.MAIL_REPORT_TTL)
    redis_client.script(PUT_LUA)(keys=[keys.mail_job(job["id"]), keys.MAIL_QUEUE],
                                 args=[queue.seal(job), int(ttl), job["id"]], client=pipe)
    if deferred:
        redis_writes.wait_for_replicas()  # WAIT, when configured, follows the request's writes
    else:
        redis_writes.send(pipe, wait=True)
    return job["id"]


# KEYS: the job's key, the queue. ARGV: sealed job, TTL, job id. Stored and queued at once.
PUT_LUA = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('LPUSH', KEYS[2], ARGV[3])
return 1
"""


def send_code(purpose, to, flow=None, context=None, **options):
    """Issue a fresh code for (purpose, address[, flow]) and queue its mail; the job expires with it."""
    code = codes.issue_code(purpose, to, flow)
    ttl = keys.code_ttl(purpose)
    context = dict(context or {}, code=code, purpose=purpose, minutes=ttl // 60)
    return queue_mail("verification", to, context, ttl=ttl, **options)
