"""indexes for admin search and audit filters at millions of rows (pg_trgm on PostgreSQL)

Revision ID: 3f8c2a6d9e41
Revises: 7a3e9c1d4b20
Create Date: 2026-12-02 17:00:00

On PostgreSQL:
- the pg_trgm extension, and GIN trigram indexes on users.email and users.username: the admin
  search is `email LIKE '%text%' OR username LIKE '%text%'` on the stored (lower-case)
  columns, which these serve (services/users.py). CREATE EXTENSION needs a role allowed to
  create it (a superuser, or since PostgreSQL 13 the database owner: pg_trgm is a trusted
  extension). Without that right, have a superuser run `CREATE EXTENSION pg_trgm;` in the
  database once before upgrading;
- ix_audit_event_pattern (event varchar_pattern_ops, at): the audit filter by event is a
  prefix (`event LIKE 'login.%'`), which a plain btree serves only under the C collation;
  the pattern operator class serves it under any collation (docker's postgres image is
  en_US.utf8), equality too, so it replaces ix_audit_event_at.

The indexes are built CONCURRENTLY (outside the migration's transaction): sign-ins keep
writing users and audit rows meanwhile. An interrupted build leaves an INVALID index: drop it
and upgrade again. On SQLite nothing changes: its search scans, as before.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '3f8c2a6d9e41'
down_revision = '7a3e9c1d4b20'
branch_labels = None
depends_on = None

CREATE = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_users_email_trgm ON users USING gin (email gin_trgm_ops)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_users_username_trgm ON users USING gin (username gin_trgm_ops)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_audit_event_pattern ON audit_events (event varchar_pattern_ops, at)",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_audit_event_at",
)
DROP = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_audit_event_at ON audit_events (event, at)",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_audit_event_pattern",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_users_username_trgm",
    "DROP INDEX CONCURRENTLY IF EXISTS ix_users_email_trgm",
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.get_context().autocommit_block():
        for statement in CREATE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.get_context().autocommit_block():
        for statement in DROP:
            op.execute(statement)
    # pg_trgm stays: other objects may use it, and dropping it needs the same right as creating
