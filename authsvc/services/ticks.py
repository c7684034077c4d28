"""What the mail workers also do, each task once per its period across all workers: copy the
day's figures to the database and send the reports that are due (FIGURES_SAVE_EVERY), and
evaluate the alert conditions (ALERT_EVALUATE_EVERY).

Each worker looks every second or so; the one whose SET NX on the task's tick key succeeds
runs it, and the key lives for the period, so several workers run it once. A task's failure
(the database away, a webhook down) is logged and tried again next period: it never stops the
worker delivering mail.
"""

import logging
import time

from flask import current_app

from .. import keys
from ..extensions import db, redis_client

log = logging.getLogger("authsvc.ticks")

TASKS = {"figures": "FIGURES_SAVE_EVERY", "alerts": "ALERT_EVALUATE_EVERY"}


def shortest_period():
    return min(current_app.config[setting] for setting in TASKS.values())


def claim(task):
    """True for the one worker that runs `task` this period."""
    period_ms = int(current_app.config[TASKS[task]] * 1000)
    # a little shorter than the period: the next tick of the same worker must find it gone
    return bool(redis_client.set(keys.tick(task), str(time.time()), nx=True, px=max(1, period_ms - 200)))


def run_due():
    """Run the tasks whose period came, if this worker is the one (inside an app context)."""
    from . import daily, reports
    from .alerts import engine

    steps = {"figures": (daily.save, reports.send_due), "alerts": (engine.evaluate,)}
    for task, functions in steps.items():
        try:
            if not claim(task):
                continue
        except Exception as exc:  # noqa: BLE001 - Redis away: the worker's own loop deals with it
            log.warning("%s: %s", task, type(exc).__name__)
            return
        for function in functions:
            try:
                function()
            except Exception:  # noqa: BLE001 - logged; tried again next period
                db.session.rollback()
                log.exception("%s: %s failed", task, function.__name__)
