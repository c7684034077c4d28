"""Flat cost as data grows (issue 16): capped counts, batched prune, the keyset CSV export, the
scale migration on both databases, and (PostgreSQL) the indexes really serving the queries.
The figures at 1 M users / 10 M events are in bench/RESULTS.md ("Scale"), never timed here."""

import csv
import io
import json
import os
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import text

from authsvc.extensions import db
from authsvc.models import AuditEvent, User, utcnow
from authsvc.services import audit_search, paging, signin, users

from .support import ADMIN_PASSWORD, create_admin
from .test_sessions_web import sign_in

ON_POSTGRES = (os.environ.get("DATABASE_URL") or "").startswith("postgresql")


def admin_token(app, api):
    create_admin(app)
    return api.post("/sessions", json={"login": "boss", "password": ADMIN_PASSWORD}).get_json()["token"]


def add_events(app, count, **fields):
    with app.app_context():
        db.session.add_all([AuditEvent(**dict({"event": "login.failure", "outcome": "failure",
                                               "email": f"u{i}@example.com"}, **fields)) for i in range(count)])
        db.session.commit()


def test_capped_count_stops_at_the_cap(app):
    add_events(app, 12, event="scale.test")
    with app.app_context():
        statement = audit_search.filtered(event="scale.test")
        assert paging.capped_count(statement, cap=20) == (12, True)
        assert paging.capped_count(statement, cap=12) == (12, True)
        assert paging.capped_count(statement, cap=5) == (5, False)
        assert paging.capped_count(db.select(User), cap=1000)[1] is True  # no WHERE: still FROM users


def test_pages_and_api_say_more_than_the_cap(app, api, browser, monkeypatch):
    token = admin_token(app, api)
    add_events(app, 12, event="scale.test")
    exact = api.get("/admin/audit?event=scale.test&per_page=5", token=token).get_json()
    assert exact["total"] == 12 and exact["total_exact"] is True
    assert api.get("/admin/users", token=token).get_json()["total_exact"] is True
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    capped = api.get("/admin/audit?event=scale.test&per_page=5", token=token).get_json()
    assert capped["total"] == 5 and capped["total_exact"] is False and len(capped["items"]) == 5
    # pages past the cap still come back, in order, until the rows run out
    seen = [e["id"] for page in (1, 2, 3) for e in api.get(
        f"/admin/audit?event=scale.test&per_page=5&page={page}", token=token).get_json()["items"]]
    assert len(seen) == 12 and seen == sorted(seen, reverse=True)
    add_events(app, 60, event="scale.web")  # the pages show 50 a page
    sign_in(browser, name="boss", password=ADMIN_PASSWORD)
    page = browser.get("/admin/audit?event=scale.web").get_data(as_text=True)
    assert "超过 5 条事件" in page and "第 1 页" in page and "第 1 页，共" not in page
    assert "page=2" in page  # a full page came back: "Next" is offered
    last = browser.get("/admin/audit?event=scale.web&page=2").get_data(as_text=True)
    assert "第 2 页" in last and "page=1" in last and "page=3" not in last  # 10 rows: no "Next"
    users_page = browser.get("/admin/users").get_data(as_text=True)
    assert "找到 1 个用户" in users_page  # under the cap: the exact count, as before


def test_prune_deletes_in_batches_and_records_one_event(app):
    old = utcnow() - timedelta(days=200)
    add_events(app, 10, at=old)
    add_events(app, 2)  # recent: kept
    commits, progress = [], []

    def count_commit(conn):
        commits.append(1)

    with app.app_context():
        sa_event.listen(db.engine, "commit", count_commit)
        try:
            deleted = audit_search.prune(180, batch=3, progress=progress.append)
        finally:
            sa_event.remove(db.engine, "commit", count_commit)
        assert deleted == 10 and progress == [3, 6, 9, 10]
        assert len(commits) >= 4  # one transaction per batch (and the audit event's own)
        left = db.session.execute(db.select(AuditEvent.event, AuditEvent.detail)).all()
    assert sorted(e for e, _ in left) == ["audit.pruned", "login.failure", "login.failure"]
    pruned = [d for e, d in left if e == "audit.pruned"]
    assert pruned[0]["deleted"] == 10 and pruned[0]["older_than_days"] == 180


def test_prune_cli_prints_progress(app):
    add_events(app, 7, at=utcnow() - timedelta(days=400))
    result = app.test_cli_runner().invoke(args=["audit", "prune", "--older-than", "365d", "--batch", "3"])
    assert result.exit_code == 0, result.output
    assert "deleted 3 so far" in result.output and "deleted 6 so far" in result.output
    assert "deleted 7 events older than 365 days" in result.output


def test_csv_export_across_batches_keeps_bom_order_and_details(app):
    add_events(app, 10, event="scale.csv", detail={"城市": "北京", "n": 1})
    add_events(app, 1, event="scale.csv", email="=HYPERLINK(1)")
    with app.app_context():
        chunks = list(audit_search.csv_rows(audit_search.filtered(event="scale.csv"), batch=3))
        ids = [e for e in db.session.execute(db.select(AuditEvent.id).where(AuditEvent.event == "scale.csv")
                                             .order_by(AuditEvent.id.desc())).scalars()]
    assert chunks[0].startswith("\ufeffid,at,event")
    rows = list(csv.reader(io.StringIO("".join(chunks)[1:])))
    assert [int(r[0]) for r in rows[1:]] == ids and len(ids) == 11
    assert rows[1][6] == "'=HYPERLINK(1)" and rows[1][9] == "{}"
    assert json.loads(rows[2][9]) == {"n": 1, "城市": "北京"} and rows[2][1].endswith("Z")


def _index_names(app, table):
    """Every index of the table, expression indexes included (SQLAlchemy's inspector skips
    those on SQLite)."""
    query = ("SELECT indexname FROM pg_indexes WHERE tablename = :t" if ON_POSTGRES
             else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL")
    with app.app_context():
        return set(db.session.execute(text(query), {"t": table}).scalars())


def test_scale_migration_upgrades_and_downgrades(app):
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        downgrade(revision="7a3e9c1d4b20")
    before = _index_names(app, "audit_events") | _index_names(app, "users")
    with app.app_context():
        upgrade()
        db.session.remove()
    after = _index_names(app, "audit_events") | _index_names(app, "users")
    assert "ix_audit_event_at" in before and "ix_users_email_trgm" not in before
    assert not {"ix_users_email_lower", "ix_users_username_lower"} & before
    assert {"ix_users_email_lower", "ix_users_username_lower"} <= after  # sign-in's lookups, both databases
    if ON_POSTGRES:
        assert {"ix_users_email_trgm", "ix_users_username_trgm", "ix_audit_event_pattern",
                "ix_audit_at_event"} <= after
        assert not {"ix_audit_event_at", "ix_audit_at"} & after
    else:  # SQLite: no trigram search, the event and date indexes as they were
        assert after == before | {"ix_users_email_lower", "ix_users_username_lower"}


def _captured_select(app, call, needle="LIMIT"):
    """The last SELECT containing `needle` (and its parameters) that the service sends."""
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SELECT") and needle in statement and "count(" not in statement:
            seen.append((statement, parameters))

    sa_event.listen(db.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", capture)
    return seen[-1]


def _plan(statement, parameters):
    """The plan with whole-table scans priced out (sequential, and walking the primary key
    with a filter): at test sizes (thousands of rows) they are cheap and the planner rightly
    picks them; at a million rows it does not (bench/RESULTS.md, Scale, has those plans).
    What this checks is that the query and the index match at all: without the index, or
    with a query it cannot serve, the plan names no index of ours."""
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(not ON_POSTGRES, reason="index plans are PostgreSQL's (DATABASE_URL=postgresql…)")
def test_postgresql_uses_the_indexes(app):
    with app.app_context():
        db.session.execute(text(
            "INSERT INTO users (email, username, password_hash, is_admin, active, auth_epoch, notify_new_device,"
            " created_at) SELECT 'p' || g || '@domain' || (g % 50) || '.example.com', 'name' || g, 'x', false, true,"
            " md5(g::text), true, now() FROM generate_series(1, 5000) g"))
        db.session.execute(text(
            "INSERT INTO audit_events (at, event, outcome, email, ip) SELECT now() - g * interval '1 minute',"
            " (ARRAY['login.success','code.issued','logout','login.failure'])[g % 4 + 1], 'success',"
            " 'p' || (g % 5000) || '@domain1.example.com', '10.0.' || (g % 250) || '.' || (g % 200)"
            " FROM generate_series(1, 20000) g"))
        db.session.execute(text("INSERT INTO audit_events (at, event, outcome) VALUES (now(), 'admin.user_unlocked',"
                                " 'success')"))
        db.session.commit()
        db.session.execute(text("ANALYZE users"))
        db.session.execute(text("ANALYZE audit_events"))
        db.session.commit()
        plans = {}
        for name, call in {
            "email": lambda: users.search("p4321@dom"),
            "username": lambda: users.search("ame432"),
            "event": lambda: audit_search.page(audit_search.filtered(event="admin.user")),
            "audit email": lambda: audit_search.page(audit_search.filtered(email="p17@domain1.example.com")),
            "ip": lambda: audit_search.page(audit_search.filtered(ip="10.0.7.7")),
        }.items():
            plans[name] = _plan(*_captured_select(app, call))
            db.session.rollback()
        for name, login in (("sign-in email", "p17@domain3.example.com"), ("sign-in username", "name17")):
            plans[name] = _plan(*_captured_select(app, lambda: signin.find_user(login), needle="lower("))
            db.session.rollback()
    assert "ix_users_email_trgm" in plans["email"], plans["email"]
    assert "ix_users_username_trgm" in plans["username"], plans["username"]
    assert "ix_audit_event_pattern" in plans["event"], plans["event"]
    assert "ix_audit_email_at" in plans["audit email"], plans["audit email"]
    assert "ix_audit_ip_at" in plans["ip"], plans["ip"]
    assert "ix_users_email_lower" in plans["sign-in email"], plans["sign-in email"]
    assert "ix_users_username_lower" in plans["sign-in username"], plans["sign-in username"]
