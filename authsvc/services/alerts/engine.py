"""Each evaluation (the worker, once per ALERT_EVALUATE_EVERY across workers): what started and
what ended since the last one, told once each to the webhook and to ALERT_EMAILS.

The firing alerts live in one Redis hash (keys.ALERT_STATE). A start is claimed with HSETNX and
an end with HDEL, so even two evaluations at once tell each change once; nothing is told while
a condition simply goes on.
"""

import json
import logging
import time

from flask import current_app
from flask_babel import force_locale

from ... import keys
from ...config import address_list
from ...extensions import db, redis_client
from ...models import User, unix_iso
from ...timefmt import display_time
from .. import mail
from . import conditions, texts, webhook

log = logging.getLogger("authsvc.alerts")

ALERT_MAIL_USEFUL_FOR = 86400


def evaluate():
    """Compare the conditions with the stored state and announce the changes; returns
    (started, ended) alert keys."""
    now_firing = conditions.firing()
    stored = {k.decode(): json.loads(v) for k, v in redis_client.hgetall(keys.ALERT_STATE).items()}
    at = time.time()
    started, ended = [], []
    for key, (name, params) in sorted(now_firing.items()):
        record = {"name": name, "params": params, "since": at}
        if key not in stored and redis_client.hsetnx(keys.ALERT_STATE, key, json.dumps(record)):
            started.append(key)
            announce("firing", record, at)
    for key, record in sorted(stored.items()):
        if key not in now_firing and redis_client.hdel(keys.ALERT_STATE, key):
            ended.append(key)
            announce("resolved", record, at)
    webhook.deliver_pending()
    return started, ended


def firing_now():
    """{alert key: {"name", "params", "since"}} of the alerts told as started and not yet ended."""
    return {k.decode(): json.loads(v) for k, v in redis_client.hgetall(keys.ALERT_STATE).items()}


def announce(state, record, at):
    name, params = record["name"], record["params"]
    log.warning("alert %s %s: %s", name, state, json.dumps(params, ensure_ascii=False))
    if current_app.config.get("ALERT_WEBHOOK_URL"):
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            body = webhook.payload(name, state, texts.summary(name, params), texts.advice(name),
                                   unix_iso(at), display_time(at), texts.state_word(state))
        webhook.enqueue(body)
    for address in address_list(current_app.config.get("ALERT_EMAILS")):
        mail.queue_mail("alert", address, {"alert": name, "state": state, "params": params,
                                           "since": record["since"]},
                        ttl=ALERT_MAIL_USEFUL_FOR, lang=language_of(address))


def language_of(address):
    """The language an operator's mail is written in: his account's, else the default."""
    user = db.session.execute(db.select(User).filter_by(email=address.lower())).scalar_one_or_none()
    return (user.locale if user and user.locale else None) or current_app.config["BABEL_DEFAULT_LOCALE"]
