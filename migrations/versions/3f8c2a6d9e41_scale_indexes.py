"""indexes for admin search and audit filters at millions of rows (pg_trgm on PostgreSQL)

Revision ID: 3f8c2a6d9e41
Revises: 7a3e9c1d4b20
Create Date: 2026-12-02 17:00:00

On both databases: ix_users_email_lower and ix_users_username_lower, on lower(email) and
lower(username): sign-in finds the account by `lower(column) = login` (services/signin.py),
which the unique indexes on the plain columns do not serve: at 1 M accounts every password
sign-in scanned the table (266 ms on PostgreSQL, bench/RESULTS.md "Scale").

On PostgreSQL also:
- the pg_trgm extension, and GIN trigram indexes on users.email and users.username: the admin
  search is `email LIKE '%text%' OR username LIKE '%text%'` on the stored (lower-case)
  columns, which these serve (services/users.py). CREATE EXTENSION needs a role allowed to
  create it (a superuser, or since PostgreSQL 13 the database owner: pg_trgm is a trusted
  extension). Without that right, have a superuser run `CREATE EXTENSION pg_trgm;` in the
  database once before upgrading;
- ix_audit_event_pattern (event varchar_pattern_ops, at): the audit filter by event is a
  prefix (`event LIKE 'login.%'`), which a plain btree serves only under the C collation;
  the pattern operator class serves it under any collation (docker's postgres image is
  en_US.utf8), equality too, so it replaces ix_audit_event_at;
- ix_audit_at_event (at, event) replaces ix_audit_at (at): a date range with an event filter
  (and its capped count) reads the event from the index instead of fetching every row of the
  range from the table to test it (147 ms → a few ms for 7 days of a 4 % event at 10 M rows).

The indexes are built CONCURRENTLY (outside the migration's transaction): sign-ins keep
writing users and audit rows meanwhile. An interrupted build leaves an INVALID index: drop it
and upgrade again. On SQLite only the two lower() indexes are added: its search scans, as before.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f8c2a6d9e41'
down_revision = '7a3e9c1d4b20'
branch_labels = None
depends_on = None

LOWER = (("ix_users_email_lower", "email"), ("ix_users_username_lower", "username"))
CREATE = tuple(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON users (lower({column}))"
               for name, column in LOWER) + (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_users_email_trgm ON users USING gin (email gin_trgm_ops)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_users_username_trgm ON users USING gin (username gin_trgm_ops)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_audit_event_pattern ON audit_events (event varchar_pattern_ops, at)",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_audit_event_at",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_audit_at_event ON audit_events (at, event)",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_audit_at",
)
DROP = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_audit_at ON audit_events (at)",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_audit_at_event",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_audit_event_at ON audit_events (event, at)",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_audit_event_pattern",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_users_username_trgm",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_users_email_trgm",
) + tuple(f"DROP INDEX CONCURRENTLY IF EXISTS {name}" for name, _ in LOWER)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        for name, column in LOWER:
            op.create_index(name, "users", [sa.text(f"lower({column})")])
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.get_context().autocommit_block():
        for statement in CREATE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        for name, _ in LOWER:
            op.drop_index(name, "users")
        return
    with op.get_context().autocommit_block():
        for statement in DROP:
            op.execute(statement)
    # pg_trgm stays: other objects may use it, and dropping it needs the same right as creating
