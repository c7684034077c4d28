"""Counts over the last few minutes, shared by every process: small time buckets in Redis.

The worker's alerts read them (the mail success rate over ALERT_MAIL_WINDOW, refused code
sends per client over a minute); the buckets expire on their own once out of every window.
"""

import time

from flask import current_app

from .. import keys
from ..extensions import redis_client

BUCKETS_PER_WINDOW = 60


def bucket_seconds(kind):
    window = current_app.config["ALERT_MAIL_WINDOW"] if kind == "mail" else 60
    return max(1, window // BUCKETS_PER_WINDOW), window


def add(kind, field, pipe, amount=1):
    """Count `field` (e.g. "sent", a client) now, in `pipe`."""
    size, window = bucket_seconds(kind)
    key = keys.recent(kind, int(time.time() // size * size))
    pipe.hincrby(key, field, amount)
    pipe.expire(key, window + 2 * size)


def totals(kind):
    """{field: count} over the kind's window, up to now."""
    size, window = bucket_seconds(kind)
    now = int(time.time() // size * size)
    pipe = redis_client.pipeline(transaction=False)
    for start in range(now - window + size, now + size, size):
        pipe.hgetall(keys.recent(kind, start))
    summed = {}
    for bucket in pipe.execute():
        for field, value in bucket.items():
            summed[field.decode()] = summed.get(field.decode(), 0) + int(value)
    return summed
