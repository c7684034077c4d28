"""The daily and weekly reports: the day figures (services/daily.py) of a period, mailed to
REPORT_EMAILS as a table and a small chart (templates/email/report.*, report_view.py).

`flask --app wsgi report daily|weekly` sends one now; the workers send them by themselves
(ticks.py): the daily one for yesterday once the hour REPORT_DAILY_AT has come, the weekly one
(Monday to Sunday) on Mondays at that hour. A Redis SET NX per report and period lets exactly
one worker send each.
"""

from datetime import timedelta

from flask import current_app

from .. import keys
from ..config import address_list
from ..extensions import redis_client
from ..timefmt import local_day, local_now
from . import daily, mail

KINDS = ("daily", "weekly")
CHART_DAYS = 7
REPORT_USEFUL_FOR = 86400


def period(kind, last=None):
    """(first, last) day of a report; `last` defaults to yesterday."""
    last = last or local_day() - timedelta(days=1)
    return (last if kind == "daily" else last - timedelta(days=6)), last


def build(kind, last=None):
    """The report's figures: each day's, the period's totals and the chart's days."""
    first, last = period(kind, last)
    days = daily.read(min(first, last - timedelta(days=CHART_DAYS - 1)), last)
    shown = [dict(daily.derived(values), day=day.isoformat()) for day, values in days.items() if day >= first]
    totals = daily.totals(first, last)
    chart = [[day.isoformat(), daily.derived(values)["mail.sent"], values.get("codes.used", 0)]
             for day, values in days.items() if day > last - timedelta(days=CHART_DAYS)]
    return {"kind": kind, "first": first.isoformat(), "last": last.isoformat(), "days": shown,
            "totals": totals, "chart": chart}


def recipients():
    return address_list(current_app.config.get("REPORT_EMAILS"))


def send(kind, last=None):
    """Queue the report to every REPORT_EMAILS address; returns the job ids (none: no address)."""
    from .alerts.engine import language_of

    report = build(kind, last)
    return [mail.queue_mail("report", address, report, ttl=REPORT_USEFUL_FOR, lang=language_of(address))
            for address in recipients()]


def due(now=None):
    """[(kind, last day)] of the reports whose time has come at `now` (a local datetime)."""
    now = now or local_now()
    if now.hour < current_app.config["REPORT_DAILY_AT"]:
        return []
    yesterday = now.date() - timedelta(days=1)
    found = [("daily", yesterday)]
    if now.weekday() == 0:
        found.append(("weekly", yesterday))
    return found


def send_due(now=None):
    """Send each due report once across all workers; returns what this worker sent."""
    if not recipients():
        return []
    sent = []
    for kind, last in due(now):
        key = keys.report_sent(kind, last.isoformat())
        if redis_client.set(key, "1", nx=True, ex=keys.REPORT_SENT_TTL):
            try:
                daily.save()  # the period's last figures in the database first
                send(kind, last)
            except Exception:
                redis_client.delete(key)  # not sent: due again at the next period
                raise
            sent.append((kind, last.isoformat()))
    return sent
