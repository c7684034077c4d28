"""Alert posts to ALERT_WEBHOOK_URL in the format ALERT_WEBHOOK_FORMAT picks: a WeCom (企业微信)
robot's or a DingTalk robot's markdown message, or plain JSON {"alert", "state", "summary", "at"}.

Posts wait in a Redis list (oldest first) and leave it only once the hook accepted them, so a
hook that is down gets them, in order, at a later evaluation; a failure is logged, never raised.
"""

import json
import logging
import urllib.error
import urllib.request

from flask import current_app

from ... import keys
from ...extensions import redis_client

log = logging.getLogger("authsvc.alerts")

TIMEOUT = 5


def payload(name, state, summary, advice, at_iso, at_shown, title):
    """The body of one post in the configured format."""
    fmt = current_app.config["ALERT_WEBHOOK_FORMAT"]
    if fmt == "json":
        return {"alert": name, "state": state, "summary": summary, "at": at_iso}
    site = current_app.config["SITE_NAME"]
    text = f"### {title}: {name}\n\n{summary}\n\n> {advice}\n\n{site} · {at_shown}"
    if fmt == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": text}}
    return {"msgtype": "markdown", "markdown": {"title": f"{title}: {name}", "text": text}}


def enqueue(body):
    pipe = redis_client.pipeline(transaction=False)
    pipe.rpush(keys.ALERT_WEBHOOK_OUTBOX, json.dumps(body, ensure_ascii=False))
    pipe.ltrim(keys.ALERT_WEBHOOK_OUTBOX, -keys.ALERT_WEBHOOK_KEEP, -1)
    pipe.execute()


def deliver_pending():
    """Post what waits, oldest first, until one fails; returns how many were accepted."""
    url = current_app.config.get("ALERT_WEBHOOK_URL")
    if not url:
        return 0
    delivered = 0
    while (raw := redis_client.lindex(keys.ALERT_WEBHOOK_OUTBOX, 0)) is not None:
        problem = post(url, raw)
        if problem:
            log.warning("alert webhook failed (%s); %d posts wait for the next evaluation", problem,
                        redis_client.llen(keys.ALERT_WEBHOOK_OUTBOX))
            break
        redis_client.lrem(keys.ALERT_WEBHOOK_OUTBOX, 1, raw)
        delivered += 1
    return delivered


def post(url, raw):
    """POST one body; None when the hook took it, else what went wrong (no URL: it holds a key)."""
    request = urllib.request.Request(url, data=raw, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - an http(s) URL (config)
            answer = response.read(4096)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return type(getattr(exc, "reason", exc)).__name__
    try:  # the robots answer 200 with {"errcode": non-zero} when they refuse a message
        errcode = json.loads(answer or b"{}").get("errcode", 0)
    except (ValueError, AttributeError):
        errcode = 0
    return f"errcode {errcode}" if errcode else None
