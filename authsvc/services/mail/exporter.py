"""Prometheus figures that live in Redis, so every web process and worker shares them.

The process-local counters (metrics.py) cover what each web process does; delivery happens in
workers that may run in other containers, so its figures are read from Redis at scrape time:
attempts by provider and result, outcomes (retried, gave up, …), code mails sent by purpose,
open circuits, the age of the oldest waiting mail and today's use of each daily quota. deploy/prometheus/alerts.yml alerts on them.
"""

import time

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ... import keys
from ...extensions import redis_client
from . import queue, quota
from .stats import circuit_open

PROVIDERS = ("primary", "fallback")
OUTCOMES = ("retried", "fell_back", "gave_up", "expired", "suppressed", "duplicate", "error")  # from 0
CODE_MAILS = "codes_mailed."  # MAIL_STATS field prefix: codes_mailed.<purpose>


class RedisFigures:
    """A collector for one scrape (it reads Redis through the request's app)."""

    def collect(self):
        raw = dict.fromkeys(OUTCOMES, 0)
        raw.update({k.decode(): int(v) for k, v in redis_client.hgetall(keys.MAIL_STATS).items()
                    if v.isdigit()})
        attempts = CounterMetricFamily("authsvc_mail_attempts", "SMTP delivery attempts, all workers",
                                       labels=["provider", "result"])
        outcomes = CounterMetricFamily("authsvc_mail_outcomes", "What became of claimed mail jobs, all workers",
                                       labels=["outcome"])
        code_mails = CounterMetricFamily("authsvc_code_mails_sent", "Mails carrying a code accepted by SMTP",
                                         labels=["purpose"])
        for name, value in sorted(raw.items()):
            if name.startswith(CODE_MAILS):
                code_mails.add_metric([name[len(CODE_MAILS):]], value)
            elif ":" in name:
                result, provider = name.split(":", 1)
                attempts.add_metric([provider, result], value)
            elif not name.startswith("latency"):
                outcomes.add_metric([name], value)
        circuits = GaugeMetricFamily("authsvc_mail_circuit_open", "1 while a provider is skipped",
                                     labels=["provider"])
        for provider in PROVIDERS:
            circuits.add_metric([provider], 1 if circuit_open(provider) else 0)
        oldest = queue.oldest_waiting()
        waiting = GaugeMetricFamily("authsvc_mail_oldest_queued_seconds",
                                    "Age of the oldest mail waiting for a worker (0: none)")
        waiting.add_metric([], round(time.time() - oldest, 1) if oldest else 0)
        backlog = GaugeMetricFamily("authsvc_audit_stream_backlog",
                                    "Audit rows in Redis waiting for a worker to write them to the database")
        backlog.add_metric([], redis_client.xlen(keys.AUDIT_STREAM))
        used = GaugeMetricFamily("authsvc_mail_quota_used_ratio",
                                 "Today's sends of a provider / its daily quota (providers with a quota)",
                                 labels=["provider"])
        for provider, today in quota.today().items():
            if today["used_ratio"] is not None:
                used.add_metric([provider], today["used_ratio"])
        yield from (attempts, outcomes, code_mails, circuits, waiting, backlog, used)
