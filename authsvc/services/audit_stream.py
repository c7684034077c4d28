"""Audit rows that skip the request's database commit: a request whose only SQL write would be
its audit rows (a code send, a refused sign-in) adds them to a Redis stream before it answers
(one XADD each, in one pipeline), and the mail workers write the stream to the database in
batches through a consumer group, acknowledging entries only after the commit.

A web process killed right after answering loses no row (the entries are in Redis). A worker
killed between its commit and its acknowledgement leaves its entries pending: another worker
claims them after CLAIM_IDLE_MS and writes them again, so a row may (rarely) appear twice and
is never lost. With Redis unreachable, the request writes its rows to the database as before.
"""

import json
import logging
from datetime import datetime

import redis
from sqlalchemy import insert

from .. import keys
from ..extensions import db, redis_client
from ..models import AuditEvent, iso
from . import daily

log = logging.getLogger("authsvc.audit")
BATCH = 500
CLAIM_IDLE_MS = 30_000  # a consumer silent this long is presumed dead: its entries are taken over


def publish(rows, pipe):
    """Queue the rows' XADDs on the request's pipeline of writes (sent before the answer), and
    the day figures among them (daily.py, as audit.write_pending does)."""
    for row in rows:
        pipe.xadd(keys.AUDIT_STREAM, {"row": json.dumps(dict(row, at=iso(row["at"])), ensure_ascii=False)})
        if row["event"] in daily.AUDITED:
            daily.count(daily.AUDITED[row["event"]], pipe=pipe)


def _ensure_group():
    try:
        redis_client.xgroup_create(keys.AUDIT_STREAM, keys.AUDIT_GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _row(fields):
    row = json.loads(fields[b"row"])
    row["at"] = datetime.fromisoformat(row["at"].replace("Z", "+00:00")).replace(tzinfo=None)
    return row


def flush(consumer):
    """Write one batch of the stream to the database; returns the number of rows written."""
    _ensure_group()
    # entries of consumers that died before acknowledging, then new ones
    _next, entries, *_deleted = redis_client.xautoclaim(keys.AUDIT_STREAM, keys.AUDIT_GROUP, consumer,
                                                        CLAIM_IDLE_MS, start_id="0-0", count=BATCH)
    if len(entries) < BATCH:
        fresh = redis_client.xreadgroup(keys.AUDIT_GROUP, consumer, {keys.AUDIT_STREAM: ">"},
                                        count=BATCH - len(entries))
        for _stream, more in fresh or ():
            entries.extend(more)
    entries = [(entry_id, fields) for entry_id, fields in entries if fields]
    if not entries:
        return 0
    rows = []
    for entry_id, fields in entries:
        try:
            rows.append(_row(fields))
        except (KeyError, ValueError) as exc:  # never blocks the stream: logged, then dropped
            log.error("audit stream entry %s unreadable: %s", entry_id, exc)
    if rows:
        db.session.connection().execute(insert(AuditEvent.__table__), rows)
        db.session.commit()
    ids = [entry_id for entry_id, _fields in entries]
    pipe = redis_client.pipeline(transaction=False)
    pipe.xack(keys.AUDIT_STREAM, keys.AUDIT_GROUP, *ids)
    pipe.xdel(keys.AUDIT_STREAM, *ids)
    pipe.execute()
    return len(rows)


def drain(consumer="drain"):
    """Write everything in the stream now (tests, CLI); returns the number of rows."""
    total = 0
    while (written := flush(consumer)):
        total += written
    return total


def backlog():
    """Entries not yet written (for /metrics and the dashboard)."""
    try:
        return redis_client.xlen(keys.AUDIT_STREAM)
    except redis.RedisError:
        return None
