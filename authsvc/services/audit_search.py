"""Reading the audit log: filters, pages, a streamed CSV export, retention."""

import csv
import io
import json
from datetime import datetime, timedelta
from functools import lru_cache

from flask_babel import gettext as _
from sqlalchemy import Text, cast, delete

from ..errors import InvalidInput
from ..extensions import db
from ..models import AuditEvent, User, iso, utcnow
from . import audit, paging
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
    """(items, total, exact) for one page of a filtered SELECT; total is counted up to
    paging.COUNT_CAP (exact False beyond: "10,000+")."""
    total, exact = paging.capped_count(statement)
    items = db.session.execute(statement.limit(per_page).offset((number - 1) * per_page)).scalars().all()
    return items, total, exact


EXPORT_BATCH = 5000


def csv_rows(statement, batch=EXPORT_BATCH):
    """CSV text in chunks, reading the events in batches by id (keyset: each batch is one
    short query, so a large export never sits in memory, holds no long transaction, and costs
    the same at the millionth row as at the first). The columns are selected as plain rows:
    building an ORM object per row was most of the old export's time (bench/RESULTS.md, Scale).

    It starts with a UTF-8 byte order mark: Excel reads a CSV without one in the machine's
    legacy code page (GBK on a Chinese Windows) and shows the Chinese in it garbled."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    columns = [getattr(AuditEvent, name) for name in CSV_COLUMNS[:-1]] + [cast(AuditEvent.detail, Text)]
    rows_statement = statement.with_only_columns(*columns, maintain_column_froms=True).order_by(None)
    last_id = None
    while True:
        chunk_statement = rows_statement.order_by(AuditEvent.id.desc()).limit(batch)
        if last_id is not None:
            chunk_statement = chunk_statement.where(AuditEvent.id < last_id)
        rows = db.session.connection().execute(chunk_statement).all()  # plain rows, no ORM loading
        if not rows:
            return
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_csv_row(row) for row in rows)
        yield buffer.getvalue()
        last_id = rows[-1][0]
        db.session.rollback()  # end the batch's transaction: no snapshot held between batches


def _csv_row(row):
    id_, at, event, outcome, user_id, actor_id, email, ip, user_agent, detail = row
    detail = _detail_text(detail)
    return (id_, iso(at), _csv_safe(event), _csv_safe(outcome), user_id, actor_id, _csv_safe(email),
            _csv_safe(ip), _csv_safe(user_agent), detail)


@lru_cache(maxsize=4096)
def _detail_text(stored):
    """The stored JSON text as the export writes it (Chinese as itself, keys sorted, spreadsheet
    formulas neutralised); details repeat a lot, so each distinct text is rewritten once."""
    detail = json.loads(stored) if stored else None
    return _csv_safe(json.dumps(detail, ensure_ascii=False, sort_keys=True)) if detail else "{}"


def _csv_safe(value):
    """Neutralise spreadsheet formulas (=, +, -, @) coming from user-controlled text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


PRUNE_BATCH = 10_000


def prune(older_than_days, actor=None, batch=PRUNE_BATCH, progress=None):
    """Delete events older than N days, `batch` rows per transaction (oldest first, each
    batch committed at once), so no lock or transaction lasts long however many rows go:
    sign-ins keep writing their events meanwhile. progress(deleted_so_far) is called after
    each batch. The pruning is itself one event, with the total. Returns the total."""
    if older_than_days < 1:
        raise InvalidInput({"older_than": [_("Keep at least one day.")]})
    cutoff = utcnow() - timedelta(days=older_than_days)
    deleted, floor = 0, None
    while True:
        # Oldest first by `at` (its index); `floor` skips the entries of deleted rows that the
        # index still holds until VACUUM, so each batch costs the same as the first.
        oldest = db.select(AuditEvent.id).where(AuditEvent.at < cutoff).order_by(AuditEvent.at).limit(batch)
        if floor is not None:
            oldest = oldest.where(AuditEvent.at >= floor)
        done = db.session.execute(delete(AuditEvent).where(AuditEvent.id.in_(oldest.scalar_subquery()))
                                  .returning(AuditEvent.at).execution_options(synchronize_session=False)).scalars().all()
        db.session.commit()
        if not done:
            break
        deleted += len(done)
        floor = max(done)
        if progress:
            progress(deleted)
        if len(done) < batch:
            break
    audit.record("audit.pruned", actor=actor, detail={"older_than_days": older_than_days,
                                                      "deleted": deleted, "cutoff": iso(cutoff)})
    return deleted
