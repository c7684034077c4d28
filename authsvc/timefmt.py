"""The one way a moment is shown to a person: in DISPLAY_TIMEZONE, always labelled.

Pages (the `datetime` Jinja filter), mail and service messages all call `display_time`, so
"2026-12-02 08:40 (UTC+8)" means the same everywhere: no bare UTC, no unlabelled local time.
"""

import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from flask import current_app

DEFAULT_ZONE = "Asia/Shanghai"


def _zone():
    return ZoneInfo(current_app.config.get("DISPLAY_TIMEZONE") or DEFAULT_ZONE)


def to_moment(value):
    """An aware UTC datetime from a datetime (naive = UTC), ISO 8601 or RFC 2822 text, or a
    Unix time; None for nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = parsedate_to_datetime(value)  # a mail's Date: header
    else:
        moment = value
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def zone_label(moment):
    """'UTC+8', 'UTC-3:30', 'UTC' for the offset of DISPLAY_TIMEZONE at that moment."""
    minutes = int(moment.utcoffset().total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def display_time(value, seconds=False):
    """'2026-12-02 08:40 (UTC+8)': the moment in DISPLAY_TIMEZONE with its offset; '–' for none."""
    moment = to_moment(value)
    if moment is None:
        return "–"
    local = moment.astimezone(_zone())
    return f"{local.strftime('%Y-%m-%d %H:%M:%S' if seconds else '%Y-%m-%d %H:%M')} ({zone_label(local)})"


def local_now(value=None):
    """The moment (a Unix time, default now) in DISPLAY_TIMEZONE."""
    return to_moment(time.time() if value is None else value).astimezone(_zone())


def local_day(value=None):
    """The DISPLAY_TIMEZONE calendar day (a date) of a moment, default now: the day figures,
    quotas and reports count by."""
    return local_now(value).date()


def display_in(seconds_from_now):
    """The moment `seconds_from_now` seconds ahead, shown like display_time."""
    return display_time(time.time() + seconds_from_now)
