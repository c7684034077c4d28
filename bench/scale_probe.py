"""Scale figures against a seeded PostgreSQL database (bench/seed_scale.py), in-process through
the Flask test client (the real views, services, Redis and database; no HTTP server).

    .venv/bin/python bench/scale_probe.py PART [PART …]     (SCALE_DB=scale, default)

PART is one of:
  queries   p50/p95 of GET /api/v1/admin/users?q= and /api/v1/admin/audit?… (varied terms)
  flows     sign-in, reset request, reset confirm, code sign-in (request + confirm) latency
  csv       GET /api/v1/admin/audit?format=csv&since=…: rows/s and the process's peak RSS
            (SCALE_CSV_DAYS days of events, default 73: about 2 M rows at 10 M a year)
  prune     `audit prune` of the oldest SCALE_PRUNE_DAYS days (default 5) in batches of 10,000,
            time per batch; the pruned rows are put back afterwards (the database stays whole)
  capacity  Redis bytes per pending registration, per API session, per queued mail (MEMORY
            USAGE of the keys the requests made), audit bytes per row, rows per flow

Settings as the seed's: SECRET_KEY (the seeded password's pepper), SCALE_PG, SCALE_DB;
Redis db SCALE_REDIS_URL (default redis://127.0.0.1:6379/3), flushed at the start of each part.
Results: one JSON object per part on stdout and in bench/out/scale_<db>_<part>.json.
"""

import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("SCALE_PG", "postgresql://postgres@127.0.0.1:5432")
DB = os.environ.get("SCALE_DB", "scale")
REDIS_URL = os.environ.get("SCALE_REDIS_URL", "redis://127.0.0.1:6379/3")
SECRET_KEY = os.environ.get("SECRET_KEY", "scale-bench-secret-key-not-for-production-0123456789")
PASSWORD = os.environ.get("BENCH_PASSWORD", "correct horse battery staple")
ADMIN_PASSWORD = "scale admin passphrase 2026"
SAMPLES = int(os.environ.get("SCALE_SAMPLES", "40"))
os.environ.update(DATABASE_URL=f"{PG.replace('postgresql://', 'postgresql+psycopg://')}/{DB}",
                  SECRET_KEY=SECRET_KEY, AUTHSVC_ENV="production", REDIS_URL=REDIS_URL,
                  PUBLIC_URL="https://accounts.example.com")

from sqlalchemy import text  # noqa: E402

from authsvc import create_app  # noqa: E402
from authsvc.extensions import db, redis_client  # noqa: E402


def make_app(database=None, redis_url=None):
    extra = {}
    if database:
        extra["DATABASE_URL"] = f"{PG.replace('postgresql://', 'postgresql+psycopg://')}/{database}"
    if redis_url:
        extra["REDIS_URL"] = redis_url
    return create_app({**extra, "MAIL_WORKER": "external", "CAPTCHA_ENABLED": False, "RATELIMIT_ENABLED": False,
                       "LOGIN_SECOND_FACTOR": "off", "REGISTRATION_MODE": "open", "LOG_LEVEL": "WARNING",
                       "AUDIT_STREAM": False, "IP_BLOCK_AFTER": 0, "ADMIN_REQUIRE_MFA": False})


def summary(samples):
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]  # noqa: E731
    return {"n": len(ordered), "p50_ms": round(pick(0.5) * 1000, 1), "p95_ms": round(pick(0.95) * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


def timed(call):
    started = time.perf_counter()
    answer = call()
    return time.perf_counter() - started, answer


def sql(app, statement, **params):
    with app.app_context():
        rows = db.session.execute(text(statement), params).all()
        db.session.rollback()
        return rows


def admin_token(app, client):
    from authsvc.services import users

    with app.app_context():
        users.create_admin("scale-admin@example.com", "scaleadmin", ADMIN_PASSWORD)
        db.session.commit()
    answer = client.post("/api/v1/sessions", json={"login": "scaleadmin", "password": ADMIN_PASSWORD})
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def sample_users(app, count):
    """`count` random accounts (email, username), spread over the whole table."""
    top = sql(app, "SELECT max(id) FROM users")[0][0]
    rng = random.Random(7)
    ids = [rng.randint(1, top) for _ in range(count * 2)]
    rows = sql(app, "SELECT email, username FROM users WHERE id = ANY(:ids)", ids=ids)
    return rows[:count]


def part_queries(app):
    client = app.test_client()
    headers = admin_token(app, client)
    people = sample_users(app, SAMPLES)
    rng = random.Random(11)
    ips = [row[0] for row in sql(app, "SELECT ip FROM audit_events TABLESAMPLE SYSTEM (1) WHERE ip IS NOT NULL "
                                      "LIMIT 200")] or ["127.0.0.1"]
    (first, last), = sql(app, "SELECT min(at), max(at) FROM audit_events")
    span = (last - first).total_seconds()

    def window(days):
        start = first.timestamp() + rng.random() * max(0, span - days * 86400)
        import datetime as dt
        a = dt.datetime.utcfromtimestamp(start).date()
        return a.isoformat(), (a + dt.timedelta(days=days - 1)).isoformat()

    events = ["login.success", "login.failure", "code.issued", "password.reset", "admin.user_unlocked",
              "register.", "login.", "oauth.", "factor.used", "ip.blocked"]
    cases = {
        "users: email substring": lambda i: f"/api/v1/admin/users?q={people[i][0].split('@')[0][1:9]}",
        "users: username substring": lambda i: f"/api/v1/admin/users?q={people[i][1][2:10]}",
        "users: domain (many matches)": lambda i: f"/api/v1/admin/users?q={['qq.com', '163.com', 'gmail'][i % 3]}",
        "users: no match": lambda i: f"/api/v1/admin/users?q=zzq{i}xjv",
        "users: no filter (page 1)": lambda i: "/api/v1/admin/users",
        "audit: no filter (page 1)": lambda i: "/api/v1/admin/audit",
        "audit: event": lambda i: f"/api/v1/admin/audit?event={events[i % len(events)]}",
        "audit: email": lambda i: f"/api/v1/admin/audit?email={people[i][0]}",
        "audit: ip": lambda i: f"/api/v1/admin/audit?ip={ips[i % len(ips)]}",
        "audit: date range (1 day)": lambda i: "/api/v1/admin/audit?since=%s&until=%s" % window(1),
        "audit: date range (30 days)": lambda i: "/api/v1/admin/audit?since=%s&until=%s" % window(30),
        "audit: event + 7 days": lambda i: ("/api/v1/admin/audit?event=%s&since=%s&until=%s"
                                            % (events[i % len(events)], *window(7))),
        "audit: email + event": lambda i: f"/api/v1/admin/audit?email={people[i][0]}&event=login.",
        "audit: page 100": lambda i: "/api/v1/admin/audit?page=100",
    }
    results = {}
    for name, path in cases.items():
        client.get(path(0), headers=headers)  # warm the plan and the connection
        times, statuses, totals = [], set(), []
        for i in range(SAMPLES):
            elapsed, answer = timed(lambda: client.get(path(i), headers=headers))
            times.append(elapsed)
            statuses.add(answer.status_code)
            body = answer.get_json()
            totals.append((body["total"], body.get("total_exact", True)))
        results[name] = dict(summary(times), statuses=sorted(statuses),
                             totals=f"{min(t for t, _ in totals)}–{max(t for t, _ in totals)}"
                                    + ("" if all(e for _, e in totals) else " (capped)"))
        print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
    return results


def _last_code(app, address):
    """The code in the newest queued mail to `address` (MAIL_WORKER=external: nothing sends it)."""
    from authsvc import crypto, keys

    with app.app_context():
        for job_id in redis_client.lrange(keys.MAIL_QUEUE, 0, 20):
            job_id = job_id.decode() if isinstance(job_id, bytes) else job_id
            sealed = redis_client.get(keys.mail_job(job_id))
            job = json.loads(crypto.unseal(sealed)) if sealed else None
            if job and job["to"] == address and job["ctx"].get("code"):
                return job["ctx"]["code"]
    raise RuntimeError(f"no code for {address}")


def _flow_samples(app, count, stamp):
    """Generators of (flow name, seconds, status), one sample per next()."""
    client = app.test_client()
    post = lambda path, body: client.post(f"/api/v1{path}", json=body)  # noqa: E731
    for i in range(count):
        elapsed, answer = timed(lambda: post("/sessions", {"login": f"u{i}@bench.example.com",
                                                           "password": PASSWORD}))
        yield "sign-in (password)", elapsed, answer.status_code
        address = f"u{100 + i}@bench.example.com"
        elapsed, answer = timed(lambda: post("/password-resets", {"email": address}))
        yield "reset request", elapsed, answer.status_code
        code = _last_code(app, address)
        elapsed, answer = timed(lambda: post("/password-resets/confirm", {
            "email": address, "code": code, "new_password": f"{PASSWORD} {stamp}"}))
        yield "reset confirm", elapsed, answer.status_code
        address = f"u{300 + i}@bench.example.com"
        elapsed, answer = timed(lambda: post("/login-codes", {"email": address}))
        yield "code request", elapsed, answer.status_code
        code = _last_code(app, address)
        elapsed, answer = timed(lambda: post("/sessions/code", {"email": address, "code": code}))
        yield "code sign-in", elapsed, answer.status_code


def part_flows(app):
    """The same flows against SCALE_DB and SCALE_SMALL_DB (default scale_1k), one sample of
    each in turn, so the machine's noise falls on both alike (Redis dbs 3 and 4)."""
    small_db = os.environ.get("SCALE_SMALL_DB", "scale_1k")
    small = make_app(small_db, REDIS_URL.rsplit("/", 1)[0] + "/4")
    with small.app_context():
        redis_client.flushdb()
    count, stamp = min(SAMPLES, 30), int(time.time())
    runs = {DB: _flow_samples(app, count, stamp), small_db: _flow_samples(small, count, stamp)}
    samples = {name: {} for name in runs}
    for _ in range(count * 5):
        for name, run in runs.items():
            flow, elapsed, status = next(run)
            entry = samples[name].setdefault(flow, ([], set()))
            entry[0].append(elapsed)
            entry[1].add(status)
    figures = {name: {flow: dict(summary(times), statuses=sorted(statuses))
                      for flow, (times, statuses) in flows.items()} for name, flows in samples.items()}
    for name, flows in figures.items():
        for flow, value in flows.items():
            print(f"{name}: {flow}: {value}", file=sys.stderr, flush=True)
    return figures


def _rss_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def part_csv(app):
    import datetime as dt

    client = app.test_client()
    headers = admin_token(app, client)
    (last,), = sql(app, "SELECT max(at) FROM audit_events")
    days = int(os.environ.get("SCALE_CSV_DAYS", "73"))
    since = (last - dt.timedelta(days=days)).date().isoformat()
    rss_before = _rss_kb("VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    answer = client.get(f"/api/v1/admin/audit?format=csv&since={since}", headers=headers, buffered=False)
    rows, size, samples, first_chunk = 0, 0, [], None
    for chunk in answer.response:
        if first_chunk is None:
            first_chunk = time.perf_counter() - started
        rows += chunk.count(b"\n")  # bytes, as a client receives them
        size += len(chunk)
        if len(samples) < 1000 and rows // 250_000 > len(samples):
            samples.append((rows, _rss_kb("VmRSS")))
    answer.close()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    figures = {"since": since, "rows": rows - 1, "bytes": size, "seconds": round(elapsed, 1),
               "rows_per_s": round((rows - 1) / elapsed), "app_cpu_s": round(cpu, 1),
               "rows_per_app_cpu_s": round((rows - 1) / cpu), "first_chunk_ms": round(first_chunk * 1000, 1),
               "rss_before_mb": round(rss_before / 1024, 1), "peak_rss_mb": round(_rss_kb("VmHWM") / 1024, 1),
               "rss_mb_every_250k_rows": [round(kb / 1024, 1) for _, kb in samples]}
    print(json.dumps(figures), file=sys.stderr, flush=True)
    return figures


def part_prune(app):
    from authsvc.services import audit_search

    days = int(os.environ.get("SCALE_PRUNE_DAYS", "5"))
    (first,), = sql(app, "SELECT min(at) FROM audit_events")
    import datetime as dt
    from authsvc.models import utcnow
    keep = (utcnow() - first).days - days  # prune the oldest `days` days
    with app.app_context():
        db.session.execute(text("DROP TABLE IF EXISTS scale_pruned"))
        db.session.execute(text("CREATE TABLE scale_pruned AS SELECT * FROM audit_events WHERE at < :cut"),
                           {"cut": utcnow() - dt.timedelta(days=keep)})
        db.session.commit()
        stamps = [time.perf_counter()]
        total = audit_search.prune(keep, progress=lambda done: stamps.append(time.perf_counter()))
        batches = [b - a for a, b in zip(stamps, stamps[1:])]
        db.session.execute(text("INSERT INTO audit_events SELECT * FROM scale_pruned"))
        db.session.execute(text("DELETE FROM audit_events WHERE event = 'audit.pruned' AND id > "
                                "(SELECT max(id) FROM scale_pruned) AND at > now() - interval '1 hour'"))
        db.session.execute(text("DROP TABLE scale_pruned"))
        db.session.commit()
    figures = {"older_than_days": keep, "deleted": total, "batches": len(batches),
               "batch": dict(summary(batches)), "total_s": round(sum(batches), 2)}
    print(json.dumps(figures), file=sys.stderr, flush=True)
    return figures


def _new_keys_bytes(before, groups):
    sizes = {}
    for key in redis_client.keys("*"):
        if key in before:
            continue
        name = key.decode() if isinstance(key, bytes) else key
        group = next((g for g, test in groups if test(name)), "other")
        sizes[group] = sizes.get(group, 0) + (redis_client.memory_usage(key, samples=0) or 0)
    return sizes


def part_capacity(app):
    client = app.test_client()
    count = 50
    is_mail = lambda name: ":mail:" in name  # noqa: E731
    figures = {}
    with app.app_context():
        redis_client.flushdb()
        before = set(redis_client.keys("*"))
        for i in range(count):
            client.post("/api/v1/registrations", json={"email": f"cap{i}@example.net", "username": f"cap{i}x",
                                                       "password": PASSWORD})
        sizes = _new_keys_bytes(before, [("mail", is_mail)])
        figures["pending registration (keys other than its mail)"] = round(sizes.get("other", 0) / count)
        figures["queued mail (sealed job + queue entry)"] = round(sizes.get("mail", 0) / count)
        redis_client.flushdb()
        before = set(redis_client.keys("*"))
        for i in range(count):
            client.post("/api/v1/sessions", json={"login": f"user{i}", "password": PASSWORD})
        sizes = _new_keys_bytes(before, [("mail", is_mail)])
        figures["API session (token + the user's session index)"] = round(sizes.get("other", 0) / count)
        redis_client.flushdb()
        (rows, size), = db.session.execute(text(
            "SELECT (SELECT count(*) FROM audit_events), pg_total_relation_size('audit_events')")).all()
        heap = db.session.execute(text("SELECT pg_relation_size('audit_events')")).scalar_one()
        db.session.rollback()
    figures["audit rows"] = rows
    figures["audit bytes per row (table + indexes)"] = round(size / rows)
    figures["audit bytes per row (table only)"] = round(heap / rows)
    print(json.dumps(figures), file=sys.stderr, flush=True)
    return figures


def main():
    parts = sys.argv[1:] or ["queries"]
    app = make_app()
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    with app.app_context():
        redis_client.flushdb()
    for part in parts:
        result = {"database": DB, "part": part, **globals()[f"part_{part}"](app)}
        (out / f"scale_{DB}_{part}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
