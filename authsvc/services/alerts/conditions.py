"""The conditions of deploy/prometheus/alerts.yml, evaluated from the figures in Redis (and
the day figures in the database): {alert key: (alert name, figures for its summary)} of those
that hold now. A key names one alert instance (a provider's circuit is its own alert)."""

import time

from flask import current_app

from .. import daily, recent
from ..mail import delivery, queue, quota, stats

SUCCESS_RATE_BELOW = 0.95
QUEUE_WAIT_ABOVE = 60
REFUSED_SENDS_ABOVE = 10
USAGE_BELOW, USAGE_MIN_MAILED = 0.7, 20
GIVEN_UP_WITHIN = 3600


def firing():
    found = {}
    for check in (success_rate, circuits, queue_wait, refused_sends, quotas, code_usage, given_up):
        found.update(check())
    return found


def success_rate():
    counts = recent.totals("mail")
    sent, failed = counts.get("sent", 0), counts.get("failed", 0)
    attempts = sent + failed
    if attempts < current_app.config["ALERT_MAIL_MIN_ATTEMPTS"] or sent / attempts >= SUCCESS_RATE_BELOW:
        return {}
    minutes = round(current_app.config["ALERT_MAIL_WINDOW"] / 60, 1)
    return {"mail_success_rate": ("AuthsvcMailSuccessRateLow", {
        "rate": round(sent / attempts, 4), "attempts": attempts, "failed": failed,
        "minutes": int(minutes) if minutes == int(minutes) else minutes})}


def _configured():
    primary, fallback = delivery.providers()
    return [p.name for p in (primary, fallback) if p is not None and p.name != delivery.OUTBOX]


def circuits():
    return {f"circuit_open:{name}": ("AuthsvcMailCircuitOpen", {"provider": name})
            for name in _configured() if stats.circuit_open(name)}


def queue_wait():
    oldest = queue.oldest_waiting()
    waited = int(time.time() - oldest) if oldest else 0
    return {"queue_stuck": ("AuthsvcMailQueueStuck", {"seconds": waited})} if waited > QUEUE_WAIT_ABOVE else {}


def refused_sends():
    by_client = recent.totals("refused")
    total = sum(by_client.values())
    if total <= REFUSED_SENDS_ABOVE:
        return {}
    client, top = max(by_client.items(), key=lambda item: item[1])
    return {"code_sends_refused": ("AuthsvcCodeSendsRefused", {"count": total, "client": client, "top": top})}


def quotas():
    found = {}
    for name, today in quota.today(_configured()).items():
        if today["used_ratio"] is not None and today["used_ratio"] >= quota.ALERT_AT:
            found[f"quota:{name}"] = ("AuthsvcMailQuotaHigh", {
                "provider": name, "sent": today["sent"], "quota": today["quota"], "ratio": today["used_ratio"]})
    return found


def code_usage():
    week = daily.totals(*daily.window(7))
    mailed, rate = week.get("codes.mailed", 0), week["code_usage_rate"]
    if mailed < USAGE_MIN_MAILED or rate >= USAGE_BELOW:
        return {}
    return {"code_usage": ("AuthsvcCodeUsageLow", {"rate": rate, "mailed": mailed})}


def given_up():
    _count, newest, _oldest = queue.dead_letters(limit=50)
    recent_ones = [r for r in newest if r["failed_at"] >= time.time() - GIVEN_UP_WITHIN]
    return {"mail_given_up": ("AuthsvcMailGivenUp", {"count": len(recent_ones)})} if recent_ones else {}


