"""Prometheus metrics (multiprocess-safe when PROMETHEUS_MULTIPROC_DIR is set)."""

from prometheus_client import Counter, Gauge, Histogram

CODES_ISSUED = Counter("authsvc_codes_issued_total", "One-time codes issued", ["purpose"])
CODES_VERIFIED = Counter("authsvc_codes_verified_total", "One-time code verifications",
                         ["purpose", "result"])
MAIL_SENT = Counter("authsvc_mail_sent_total", "Mail delivery attempts", ["provider", "result"])
MAIL_QUEUE_DEPTH = Gauge("authsvc_mail_queue_depth", "Mail jobs waiting", multiprocess_mode="max")
MAIL_DEAD_LETTERS = Gauge("authsvc_mail_dead_letters", "Mail given up on (kept for admins)",
                          multiprocess_mode="max")
RATE_LIMITED = Counter("authsvc_rate_limited_total", "Requests refused by a limit", ["limit"])
LOGINS = Counter("authsvc_logins_total", "Sign-in attempts", ["method", "result"])
REQUEST_LATENCY = Histogram("authsvc_request_seconds", "Request latency", ["endpoint", "method"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
IP_BLOCKS = Counter("authsvc_ip_blocks_total", "Client networks blocked (auto: kept hitting limits; manual: an admin)",
                    ["kind"])
IP_BLOCKS_ACTIVE = Gauge("authsvc_ip_blocks_active", "Blocks recorded in Redis (all processes)",
                         multiprocess_mode="max")
for _kind in ("auto", "manual"):
    IP_BLOCKS.labels(_kind)  # served as 0 from the start: rules see the series before the first block
