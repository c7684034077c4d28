"""Per-day figures: counted in Redis as things happen (one hash per DISPLAY_TIMEZONE day),
copied to the database by the worker (table daily_figures: day, name, value; never on the
request path) and read back for the dashboard, the reports and the alerts.

Names (see NAMES): mail.sent.<provider> (also the daily quota's use), mail.failed.<reason>,
mail.retried, mail.fell_back, mail.gave_up, codes.issued, codes.mailed, codes.used,
registrations, sign_ins, sign_in_failures, lockouts, limited.send, limited.request.
"""

import logging
from datetime import timedelta

import redis
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from .. import keys
from ..extensions import db, redis_client
from ..models import DailyFigure
from ..timefmt import local_day
from . import recent

log = logging.getLogger("authsvc.figures")

# audit events that are also day figures: counted when the request's audit rows are written
AUDITED = {"code.issued": "codes.issued", "code.verified": "codes.used", "register.confirmed": "registrations",
           "login.success": "sign_ins", "login.failure": "sign_in_failures", "login.locked": "lockouts"}
FAILURE_REASONS = ("rejected", "timeout", "connection", "temporary", "other")
NAMES = ("mail.sent.primary", "mail.sent.fallback", *(f"mail.failed.{r}" for r in FAILURE_REASONS),
         "mail.retried", "mail.fell_back", "mail.gave_up", "codes.issued", "codes.mailed", "codes.used",
         "registrations", "sign_ins", "sign_in_failures", "lockouts", "limited.send", "limited.request")
LIVE_DAYS = 3  # today and the two days before are still read from Redis too (FIGURES_DAY_TTL)


def count(name, amount=1, pipe=None):
    """Add to today's figure `name` (in `pipe` if given, else at once)."""
    key = keys.figures_day(local_day())
    target = pipe if pipe is not None else redis_client.pipeline(transaction=False)
    target.hincrby(key, name, amount)
    target.expire(key, keys.FIGURES_DAY_TTL)
    if pipe is None:
        target.execute()


def count_quietly(*names):
    """Count figures where a failure must not change the answer (a refused request, the audit
    rows' commit): a Redis error is logged, not raised."""
    if not names:
        return
    try:
        pipe = redis_client.pipeline(transaction=False)
        for name in names:
            count(name, pipe=pipe)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("day figures not counted (%s): %s", ", ".join(names), type(exc).__name__)


def limited(kind, client=None):
    """A request refused by a limit: today's limited.<kind> (send: a code send refused by the
    send limits; request: any other 429), and a refused code send per client for the alert."""
    try:
        pipe = redis_client.pipeline(transaction=False)
        count(f"limited.{kind}", pipe=pipe)
        if kind == "send" and client:
            recent.add("refused", client, pipe)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("refused request not counted: %s", type(exc).__name__)


def count_audited(rows):
    """The day figures among a request's audit rows (audit.write_pending)."""
    count_quietly(*(AUDITED[row["event"]] for row in rows if row["event"] in AUDITED))


def live(day):
    """The day's figures as Redis holds them now ({} once expired)."""
    return {k.decode(): int(v) for k, v in redis_client.hgetall(keys.figures_day(day)).items()}


def save():
    """Copy the recent days' figures from Redis to the database (the worker, once a period).
    A stored value only ever grows: a Redis that lost its data cannot lower the day's record."""
    today = local_day()
    rows = [{"day": day, "name": name, "value": value}
            for day in (today - timedelta(days=n) for n in range(LIVE_DAYS))
            for name, value in live(day).items()]
    if not rows:
        return 0
    dialect = db.engine.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(DailyFigure.__table__)
    bigger = func.greatest if dialect == "postgresql" else func.max  # SQLite's two-argument max()
    statement = insert.on_conflict_do_update(
        index_elements=["day", "name"],
        set_={"value": bigger(DailyFigure.__table__.c.value, insert.excluded.value)})
    db.session.execute(statement, rows)
    db.session.commit()
    return len(rows)


def read(first, last):
    """{day: {name: value}} for every day from `first` to `last` (dates, inclusive): the
    database's, or Redis's where that is newer (the last minute, or not saved yet)."""
    days = {first + timedelta(days=n): {} for n in range((last - first).days + 1)}
    stored = db.session.execute(select(DailyFigure.day, DailyFigure.name, DailyFigure.value)
                                .where(DailyFigure.day >= first, DailyFigure.day <= last)).all()
    for day, name, value in stored:
        days[day][name] = value
    today = local_day()
    for day, values in days.items():
        if 0 <= (today - day).days < LIVE_DAYS:
            for name, value in live(day).items():
                values[name] = max(value, values.get(name, 0))
    return days


def totals(first, last):
    """The figures summed over the days from `first` to `last`, with the derived ones."""
    summed = {}
    for values in read(first, last).values():
        for name, value in values.items():
            summed[name] = summed.get(name, 0) + value
    return derived(summed)


def derived(values):
    """Add mail.sent, mail.failed and the code-usage rate (codes used of codes mailed: codes
    issued for addresses without an account are never mailed and do not lower it)."""
    values = dict(values)
    values["mail.sent"] = sum(v for k, v in values.items() if k.startswith("mail.sent."))
    values["mail.failed"] = sum(v for k, v in values.items() if k.startswith("mail.failed."))
    mailed = values.get("codes.mailed", 0)
    values["code_usage_rate"] = round(values.get("codes.used", 0) / mailed, 4) if mailed else None
    return values


def window(days):
    """The last `days` days including today."""
    today = local_day()
    return today - timedelta(days=days - 1), today
