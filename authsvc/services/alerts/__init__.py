"""Alerts from the worker, for operators without Prometheus: the conditions of
deploy/prometheus/alerts.yml evaluated from the figures in Redis (conditions.py), each start
and end told once to ALERT_WEBHOOK_URL and ALERT_EMAILS (engine.py, webhook.py), in words
both languages share (texts.py).

Import the modules themselves (`from .alerts import engine`): this package's face stays empty
so the mail composer can read texts.py without pulling in the engine (which queues mail).
"""
