"""Fill a fresh PostgreSQL database with many accounts and audit events (COPY), for the scale bench.

    make seed-scale SCALE_DB=scale SCALE_USERS=1000000 SCALE_AUDIT=10000000

What it does, timed step by step (one JSON line at the end, also in bench/out/seed_scale.json):
1. DROP DATABASE IF EXISTS $SCALE_DB; CREATE DATABASE (on $SCALE_PG, default the local server);
2. `flask --app wsgi db upgrade 7a3e9c1d4b20` (the schema before the scale migration);
3. COPY the users: ids 1..1000 are the bench's own accounts (u{i}@bench.example.com, user{i}),
   the rest are varied (pinyin and English names, 40 % qq.com, 163.com, gmail.com, …); every
   one has the password $BENCH_PASSWORD, hashed once as the app stores it (peppered bcrypt at
   BCRYPT_ROUNDS under $SECRET_KEY: the bench signs in with the same SECRET_KEY);
4. COPY the audit events: the real event names in realistic shares, spread evenly over the
   last 365 days (ids in time order, as the app writes them), addresses of the seeded users,
   IPs from a pool of 200,000, real browser user agents, the details the app records;
5. ANALYZE, then `flask --app wsgi db upgrade` (the scale migration builds its indexes on the
   filled tables: the time an operator's upgrade takes at this size).

The data is generated from a fixed random seed: the same figures give the same database.
"""

import json
import os
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("SCALE_PG", "postgresql://postgres@127.0.0.1:5432")
DB = os.environ.get("SCALE_DB", "scale")
USERS = int(os.environ.get("SCALE_USERS", "1000000"))
AUDIT = int(os.environ.get("SCALE_AUDIT", "10000000"))
PASSWORD = os.environ.get("BENCH_PASSWORD", "correct horse battery staple")
SECRET_KEY = os.environ.get("SECRET_KEY", "scale-bench-secret-key-not-for-production-0123456789")
BENCH_ACCOUNTS = 1000  # u0..u999@bench.example.com, as bench/seed_authsvc.py makes them
PRE_SCALE_HEAD = "7a3e9c1d4b20"

GIVEN = ("wei fang na min jing li qiang lei jun yang yong yan jie juan tao ming chao xiu xia ping gang gui "
         "hua hui ying dan bo hao yu xin yi chen lin rui zhen kai").split()
FAMILY = ("wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang "
          "xie song tang han feng deng cao peng zeng xiao tian dong yuan pan cai jiang yu du ye cheng").split()
ENGLISH = ("james mary john patricia robert jennifer michael linda david elizabeth william susan richard "
           "jessica joseph sarah thomas karen chris nancy daniel lisa paul betty mark helen anna kevin").split()
DOMAINS = [("qq.com", 40), ("163.com", 15), ("gmail.com", 10), ("126.com", 7), ("outlook.com", 6),
           ("foxmail.com", 5), ("sina.com", 3), ("hotmail.com", 3), ("yahoo.com", 2), ("icloud.com", 2),
           ("aliyun.com", 2), ("corp.example.com", 3), ("example.org", 2)]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
    "Mozilla/5.0 (Linux; Android 13; PGKM10) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.5359.128 Mobile Safari/537.36 HeyTapBrowser/45",
    "curl/8.5.0", "python-requests/2.32.3",
]
# (event, outcome, share in ‰, details): the shares a busy sign-in service sees.
EVENTS = [
    ("login.success", "success", 330, [{"method": "password"}, {"method": "code"}, {"method": "passkey"},
                                       {"method": "totp"}]),
    ("code.issued", "success", 130, [{"purpose": "login"}, {"purpose": "reset"}, {"purpose": "register"},
                                     {"purpose": "second_factor"}]),
    ("code.verified", "success", 100, [{"purpose": "login"}, {"purpose": "reset"}, {"purpose": "second_factor"}]),
    ("login.failure", "failure", 80, [{"reason": "bad_password", "method": "password"},
                                      {"reason": "unknown_user", "method": "password"},
                                      {"reason": "inactive", "method": "password"}]),
    ("logout", "success", 60, [None]),
    ("oauth.authorized", "success", 50, [{"client_id": "wiki", "scope": "openid profile email"},
                                         {"client_id": "grafana", "scope": "openid email"}]),
    ("login.second_factor", "success", 40, [{"step": "email_sent"}, {"step": "email_passed"},
                                            {"step": "totp_passed"}]),
    ("register.requested", "success", 35, [{"username": "x"}]),
    ("register.confirmed", "success", 28, [{"invite": False}, {"invite": True}]),
    ("password.reset_requested", "success", 25, [{"known": True}, {"known": False}]),
    ("password.reset", "success", 15, [None]),
    ("factor.used", "success", 20, [{"kind": "totp"}, {"kind": "passkey"}]),
    ("session.ended", "success", 15, [None]),
    ("login.locked", "failure", 10, [{"seconds": 600}]),
    ("password.changed", "success", 8, [None]),
    ("factor.failed", "failure", 8, [{"kind": "totp"}]),
    ("register.failed", "failure", 6, [{"reason": "conflict"}, {"reason": "invite_used_up"}]),
    ("email.change_requested", "success", 5, [None]),
    ("email.changed", "success", 4, [None]),
    ("factor.enrolled", "success", 5, [{"kind": "totp"}, {"kind": "passkey", "name": "iPhone"}]),
    ("recovery_codes.generated", "success", 3, [{"count": 10}]),
    ("notifications.changed", "success", 3, [{"notify_new_device": False}]),
    ("oauth.consent_granted", "success", 4, [{"client_id": "wiki"}]),
    ("session.ended_others", "success", 2, [{"ended": 2}]),
    ("recovery_code.used", "success", 1, [{"remaining": 9}]),
    ("ip.blocked", "success", 1, [{"network": "203.0.113.0/24", "reason": "code-request flood"}]),
    ("admin.user_deactivated", "success", 1, [None]),
    ("admin.user_unlocked", "success", 1, [None]),
    ("admin.reset_sent", "success", 1, [None]),
    ("invite.created", "success", 1, [{"count": 10}]),
]


def _copy_text(value):
    """COPY text format: \\N for NULL; our generated text has no tab, newline or backslash."""
    return "\\N" if value is None else str(value)


def make_users(rng, hashed, now):
    """(email, username) per account, and the COPY lines."""
    domains = [d for d, _ in DOMAINS]
    weights = [w for _, w in DOMAINS]
    picked = rng.choices(domains, weights, k=USERS)
    emails, usernames = [], []
    for i in range(USERS):
        if i < BENCH_ACCOUNTS:
            email, username = f"u{i}@bench.example.com", f"user{i}"
        else:
            style = i % 4
            if style == 0:
                local = f"{rng.choice(FAMILY)}{rng.choice(GIVEN)}{i}"
            elif style == 1:
                local = f"{rng.choice(ENGLISH)}.{rng.choice(FAMILY)}{i}"
            elif style == 2:
                local = str(10000000 + i * 7919 % 989999999)  # QQ numbers
            else:
                local = f"{rng.choice(GIVEN)}_{rng.choice(FAMILY)}{i % 1000}x{i}"
            email = f"{local}@{picked[i]}"
            username = f"{rng.choice(FAMILY)}{rng.choice(GIVEN)}{i}"[:32]
        emails.append(email)
        usernames.append(username)
    return emails, usernames


def copy_users(conn, emails, usernames, hashed, now):
    start = time.perf_counter()
    created0 = now - timedelta(days=730)
    span = 730 * 86400
    with conn.cursor() as cur, cur.copy(
            "COPY users (id, email, username, password_hash, is_admin, active, auth_epoch, notify_new_device,"
            " locale, email_verified_at, created_at, last_login_at, password_changed_at) FROM STDIN") as copy:
        lines = []
        for i, (email, username) in enumerate(zip(emails, usernames)):
            created = (created0 + timedelta(seconds=span * i // USERS)).isoformat(sep=" ")
            locale = "en" if i % 9 == 0 else "zh"
            lines.append(f"{i + 1}\t{email}\t{username}\t{hashed}\tf\tt\t{os.urandom(16).hex()}\t"
                         f"{'f' if i < BENCH_ACCOUNTS else 't'}\t{locale}\t{created}\t{created}\t\\N\t{created}\n")
            if len(lines) >= 20000:
                copy.write("".join(lines))
                lines = []
        copy.write("".join(lines))
    conn.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), %s)", (USERS,))
    conn.commit()
    return time.perf_counter() - start


def copy_audit(conn, rng, emails, now):
    start = time.perf_counter()
    names = [e[0] for e in EVENTS]
    weights = [e[2] for e in EVENTS]
    outcome = {e[0]: e[1] for e in EVENTS}
    details = {e[0]: [_copy_text(d and json.dumps(d, sort_keys=True)) for d in e[3]] for e in EVENTS}
    ips = [f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
           for _ in range(150_000)]
    ips += [f"240e:{rng.randint(0, 0xfff):x}:{rng.randint(0, 0xffff):x}::{rng.randint(1, 0xffff):x}"
            for _ in range(50_000)]
    first = int((now - timedelta(days=365)).timestamp())
    span = 365 * 86400
    batch = 50_000
    written = 0
    with conn.cursor() as cur, cur.copy(
            "COPY audit_events (id, at, event, outcome, user_id, actor_id, email, ip, user_agent, detail)"
            " FROM STDIN") as copy:
        while written < AUDIT:
            n = min(batch, AUDIT - written)
            events = rng.choices(names, weights, k=n)
            users = [rng.randrange(USERS) for _ in range(n)]
            lines = []
            for k in range(n):
                i = written + k
                at = datetime.utcfromtimestamp(first + span * i / AUDIT).isoformat(sep=" ")
                event = events[k]
                user = users[k]
                # a failed sign-in or a request for an address may name no account (user_id NULL)
                user_id = "\\N" if event in ("login.failure", "register.requested", "password.reset_requested") \
                    and user % 5 == 0 else user + 1
                actor = rng.randint(1, 5) if event.startswith(("admin.", "ip.", "invite.")) else "\\N"
                ip = ips[(user * 31 + (i & 7)) % len(ips)] if user % 3 else ips[rng.randrange(len(ips))]
                agent = AGENTS[(user + (i & 1)) % len(AGENTS)]
                lines.append(f"{i + 1}\t{at}\t{event}\t{outcome[event]}\t{user_id}\t{actor}\t{emails[user]}\t"
                             f"{ip}\t{agent}\t{rng.choice(details[event])}\n")
            copy.write("".join(lines))
            written += n
            if written % 1_000_000 == 0:
                print(f"audit rows: {written:,} ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    conn.execute("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), %s)", (AUDIT,))
    conn.commit()
    return time.perf_counter() - start


def flask_env():
    return dict(os.environ, DATABASE_URL=f"{PG.replace('postgresql://', 'postgresql+psycopg://')}/{DB}",
                SECRET_KEY=SECRET_KEY, AUTHSVC_ENV="production", REDIS_URL=os.environ.get(
                    "SCALE_REDIS_URL", "redis://127.0.0.1:6379/3"), PUBLIC_URL="http://localhost")


def upgrade(revision="head"):
    start = time.perf_counter()
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "db", "upgrade", revision],
                   cwd=ROOT, env=flask_env(), check=True)
    return time.perf_counter() - start


def password_hash():
    """The stored form of PASSWORD under SECRET_KEY's pepper, as the app computes it."""
    os.environ.update({k: v for k, v in flask_env().items() if k not in os.environ or k in (
        "DATABASE_URL", "SECRET_KEY", "AUTHSVC_ENV")})
    from authsvc import create_app
    from authsvc.services import passwords

    app = create_app({"MAIL_WORKER": "external"})
    with app.app_context():
        return passwords.hash_password(PASSWORD), app.config["BCRYPT_ROUNDS"]


def main():
    timings = {"users": USERS, "audit": AUDIT, "database": DB}
    start = time.perf_counter()
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB}"')
    timings["schema_s"] = round(upgrade(PRE_SCALE_HEAD), 1)
    hashed, rounds = password_hash()
    timings["bcrypt_rounds"] = rounds
    rng = random.Random(16)
    now = datetime.utcnow().replace(microsecond=0)
    with psycopg.connect(f"{PG}/{DB}") as conn:
        emails, usernames = make_users(rng, hashed, now)
        timings["copy_users_s"] = round(copy_users(conn, emails, usernames, hashed, now), 1)
        print(f"users: {USERS:,} in {timings['copy_users_s']} s", file=sys.stderr, flush=True)
        timings["copy_audit_s"] = round(copy_audit(conn, rng, emails, now), 1)
        print(f"audit: {AUDIT:,} in {timings['copy_audit_s']} s", file=sys.stderr, flush=True)
        conn.autocommit = True
        t = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) users")
        conn.execute("VACUUM (ANALYZE) audit_events")
        timings["vacuum_analyze_s"] = round(time.perf_counter() - t, 1)
    timings["migrate_to_head_s"] = round(upgrade(), 1)
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        conn.execute("ANALYZE")
        timings["db_bytes"] = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        timings["audit_bytes"] = conn.execute("SELECT pg_total_relation_size('audit_events')").fetchone()[0]
        timings["users_bytes"] = conn.execute("SELECT pg_total_relation_size('users')").fetchone()[0]
    timings["total_s"] = round(time.perf_counter() - start, 1)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / f"seed_{DB}.json").write_text(json.dumps(timings, indent=1))
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
