"""Reading the audit log: filters, pages, a streamed CSV export, retention."""

import csv
import io
import json
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, func

from ..errors import InvalidInput
from ..extensions import db
from ..models import AuditEvent, User, iso, utcnow
from . import audit
from .validation import has_control_chars

CSV_COLUMNS = ("id", "at", "event", "outcome", "user_id", "actor_id", "email", "ip", "user_agent", "detail")


def parse_day(value, field, end=False):
    """'2026-11-21' (or a full ISO time) as naive UTC; the end of the day when end=True."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment = (moment - moment.utcoffset()).replace(tzinfo=None)
        if end and len(value) == 10:
            moment += timedelta(days=1)
    except (ValueError, OverflowError):  # not a date, or years 1 / 9999 pushed past datetime's range
        raise InvalidInput({field: [_("Use a date like 2026-01-31.")]}, status=400) from None
    return moment


def filtered(event=None, email=None, ip=None, since=None, until=None):
    """A SELECT over audit events with the given filters, newest first."""
    for name, value in (("event", event), ("email", email), ("ip", ip)):
        if has_control_chars(value):  # PostgreSQL refuses NUL in text; nothing stored has them
            raise InvalidInput({name: [_("The request was malformed.")]}, status=400)
    statement = db.select(AuditEvent)
    if event:
        # autoescape: %, _ and the escape character are plain characters, not LIKE wildcards
        statement = statement.where(AuditEvent.event.startswith(event.strip()[:48], autoescape=True))
    if email:
        statement = statement.where(AuditEvent.email == email.strip().lower()[:254])
    if ip:
        statement = statement.where(AuditEvent.ip == ip.strip()[:45])
    if since:
        statement = statement.where(AuditEvent.at >= since)
    if until:
        statement = statement.where(AuditEvent.at < until)
    return statement.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def from_args(args):
    """filtered() from query-string arguments (event, email, ip, since, until); every bad
    filter is named at once, and an `until` before `since` is refused (it would list nothing)."""
    problems, days = {}, {}
    for name, end in (("since", False), ("until", True)):
        try:
            days[name] = parse_day(args.get(name), name, end=end)
        except InvalidInput as error:
            problems.update(error.fields)
    if not problems and days["since"] and days["until"] and days["until"] <= days["since"]:
        problems["until"] = [_("“Until” is before “From”: choose an end on or after the start.")]
    if problems:
        raise InvalidInput(problems, status=400)
    return filtered(event=args.get("event"), email=args.get("email"), ip=args.get("ip"), **days)


def actor_names(events):
    """{user id: username} of the admins who acted in `events` (one query for a page)."""
    ids = {e.actor_id for e in events if e.actor_id}
    if not ids:
        return {}
    return dict(db.session.execute(db.select(User.id, User.username).where(User.id.in_(ids))).all())


def page(statement, number=1, per_page=50):
    """(items, total) for one page of a filtered SELECT."""
    total = db.session.execute(db.select(func.count()).select_from(statement.subquery())).scalar_one()
    items = db.session.execute(statement.limit(per_page).offset((number - 1) * per_page)).scalars().all()
    return items, total


def csv_rows(statement, batch=500):
    """CSV text in chunks, reading the events in batches (a large export never sits in memory).

    It starts with a UTF-8 byte order mark: Excel reads a CSV without one in the machine's
    legacy code page (GBK on a Chinese Windows) and shows the Chinese in it garbled."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    last_id = None
    while True:
        chunk_statement = statement.limit(batch)
        if last_id is not None:
            chunk_statement = chunk_statement.where(AuditEvent.id < last_id)
        events = db.session.execute(chunk_statement.order_by(None).order_by(AuditEvent.id.desc())).scalars().all()
        if not events:
            return
        buffer.seek(0)
        buffer.truncate()
        for event in events:
            row = event.to_dict()
            row["detail"] = row["detail"] and json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
            writer.writerow([_csv_safe(row[c]) for c in CSV_COLUMNS])
        yield buffer.getvalue()
        last_id = events[-1].id
        db.session.expunge_all()


def _csv_safe(value):
    """Neutralise spreadsheet formulas (=, +, -, @) coming from user-controlled text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def prune(older_than_days, actor=None):
    """Delete events older than N days; the pruning is itself an event. Returns the count."""
    if older_than_days < 1:
        raise InvalidInput({"older_than": [_("Keep at least one day.")]})
    cutoff = utcnow() - timedelta(days=older_than_days)
    result = db.session.execute(delete(AuditEvent).where(AuditEvent.at < cutoff))
    audit.record("audit.pruned", actor=actor, detail={"older_than_days": older_than_days,
                                                      "deleted": result.rowcount, "cutoff": iso(cutoff)})
    return result.rowcount
