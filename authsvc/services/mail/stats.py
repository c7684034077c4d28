"""Delivery figures and the per-provider circuit breaker, shared by all workers via Redis."""

from flask import current_app

from ... import keys
from ...models import unix_iso
from ...extensions import redis_client
from ...timefmt import local_day
from .. import daily, metrics, recent
from . import queue, quota

LATENCY_BUCKETS = (1, 5, 30, 60, 300)  # seconds from queueing to SMTP acceptance


def count(name, amount=1, pipe=None):
    """Count an outcome (retried, fell_back, gave_up, …, codes_mailed.<purpose>) since the
    counters began and in today's figures (mail.<name>, codes.mailed); in `pipe` if given."""
    target = pipe if pipe is not None else redis_client.pipeline(transaction=False)
    target.hincrby(keys.MAIL_STATS, name, amount)
    daily.count("codes.mailed" if name.startswith(CODE_MAILS) else f"mail.{name}", amount, target)
    if pipe is None:
        target.execute()


CODE_MAILS = "codes_mailed."


def record(provider, result, latency=None, reason=None, pipe=None):
    """Count one delivery attempt by provider and result (sent / failed / rejected); a failure
    also in today's figures by its reason (the sends there are the quota's reservations), and
    every attempt in the recent window the success-rate alert reads. In `pipe` if given."""
    metrics.MAIL_SENT.labels(provider, result).inc()
    target = pipe
    pipe = pipe if pipe is not None else redis_client.pipeline(transaction=False)
    pipe.hincrby(keys.MAIL_STATS, f"{result}:{provider}", 1)
    recent.add("mail", "sent" if result == "sent" else "failed", pipe)
    if result != "sent":
        daily.count(f"mail.failed.{reason or result}", pipe=pipe)
    if latency is not None:
        pipe.hincrbyfloat(keys.MAIL_STATS, "latency_sum", latency)
        pipe.hincrby(keys.MAIL_STATS, "latency_count", 1)
        bucket = next((b for b in LATENCY_BUCKETS if latency <= b), "inf")
        pipe.hincrby(keys.MAIL_LATENCY, f"le_{bucket}", 1)
    if target is None:
        pipe.execute()


def circuit_open(provider):
    return bool(redis_client.exists(keys.mail_circuit_open(provider)))


def provider_failed(provider):
    """One more consecutive failure; open the circuit at MAIL_CIRCUIT_THRESHOLD."""
    ttl = keys.mail_circuit_ttl()
    pipe = redis_client.pipeline(transaction=True)
    pipe.incr(keys.mail_circuit(provider))
    pipe.expire(keys.mail_circuit(provider), ttl)
    failures, _ = pipe.execute()
    if failures >= current_app.config["MAIL_CIRCUIT_THRESHOLD"]:
        redis_client.set(keys.mail_circuit_open(provider), "1", ex=ttl, nx=True)


def provider_ok(provider, pipe=None):
    """The provider answered: its consecutive failures start again from 0 (in `pipe` if given)."""
    (pipe if pipe is not None else redis_client).delete(keys.mail_circuit(provider), keys.mail_circuit_open(provider))


def overview():
    """What the admin dashboard and /api/v1/admin/mail-stats show: the figures, the queue,
    today's sends per provider against its quota, and the mail given up on (count, oldest,
    the newest with their reasons)."""
    count, newest, oldest = queue.dead_letters()
    return dict(figures(), queue_depth=queue.depth(), today={"day": local_day().isoformat(), **quota.today()},
                dead_letters={
        "count": count, "oldest_failed_at": unix_iso(oldest["failed_at"]) if oldest else None,
        "recent": [dict(r, queued_at=unix_iso(r["queued_at"]), failed_at=unix_iso(r["failed_at"]))
                   for r in newest]})


def figures():
    """Delivery counters, success rate, latency buckets, per provider."""
    raw = {k.decode(): v.decode() for k, v in redis_client.hgetall(keys.MAIL_STATS).items()}
    latency = {k.decode(): int(v) for k, v in redis_client.hgetall(keys.MAIL_LATENCY).items()}
    by_provider = {}
    for name, value in raw.items():
        if ":" in name:
            result, provider = name.split(":", 1)
            by_provider.setdefault(provider, {"sent": 0, "failed": 0, "rejected": 0})[result] = int(value)
    sent = sum(p["sent"] for p in by_provider.values())
    failed = sum(p["failed"] + p["rejected"] for p in by_provider.values())
    attempts = sent + failed
    count_ = int(raw.get("latency_count", 0))
    return {
        "sent": sent,
        "failed": failed,
        "retried": int(raw.get("retried", 0)),
        "fell_back": int(raw.get("fell_back", 0)),
        "gave_up": int(raw.get("gave_up", 0)),
        "suppressed": int(raw.get("suppressed", 0)),
        "expired": int(raw.get("expired", 0)),
        "success_rate": round(sent / attempts, 4) if attempts else None,
        "by_provider": by_provider,
        "latency_seconds_avg": round(float(raw.get("latency_sum", 0)) / count_, 3) if count_ else None,
        "latency_buckets": latency,
        "circuits_open": [p for p in ("primary", "fallback") if circuit_open(p)],
    }
