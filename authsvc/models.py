"""Durable state: users, their second factors, invite codes and their uses, audit events, day figures."""

import secrets
from datetime import date, datetime, timezone
from typing import Optional

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, false, func, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow():
    """Naive UTC now: every timestamp in the database is UTC without an offset."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def iso(moment):
    """ISO 8601 UTC with a Z, or None."""
    return moment.replace(microsecond=0).isoformat() + "Z" if moment else None


def unix_iso(unix_time):
    """A Unix time as iso() writes it, or None."""
    return iso(datetime.fromtimestamp(unix_time, tz=timezone.utc).replace(tzinfo=None)) if unix_time else None


def new_epoch():
    return secrets.token_hex(16)


class User(db.Model):
    __tablename__ = "users"
    # The admin search (substring of email or username) on PostgreSQL: trigram GIN indexes,
    # needing the pg_trgm extension, which the migration 3f8c2a6d9e41 creates. SQLite scans.
    __table_args__ = (
        # sign-in finds the account by lower(email) / lower(username) (services/signin.py)
        Index("ix_users_email_lower", func.lower(text("email"))),
        Index("ix_users_username_lower", func.lower(text("username"))),
        Index("ix_users_email_trgm", "email", postgresql_using="gin",
              postgresql_ops={"email": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
        Index("ix_users_username_trgm", "username", postgresql_using="gin",
              postgresql_ops={"username": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(String(128))
    is_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Rotated to end every session and token of the user at once (password change, reset,
    # deactivation): each session and token records the epoch it was made under.
    auth_epoch: Mapped[str] = mapped_column(String(32), default=new_epoch)
    notify_new_device: Mapped[bool] = mapped_column(default=True, server_default=true())
    locale: Mapped[Optional[str]] = mapped_column(String(8))
    email_verified_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[Optional[datetime]]
    password_changed_at: Mapped[Optional[datetime]]
    # WebAuthn user handle (base64url of 32 random bytes), given at the first passkey: never the
    # database id, so a passkey on a device names no row of ours (services/passkey_registration.py).
    passkey_handle: Mapped[Optional[str]] = mapped_column(String(64), unique=True)

    # Flask-Login protocol
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return f"{self.id}.{self.auth_epoch}"

    def to_dict(self):
        return {
            "id": self.id,
            "email": self.email,
            "username": self.username,
            "is_admin": self.is_admin,
            "email_verified_at": iso(self.email_verified_at),
            "created_at": iso(self.created_at),
        }

    def __repr__(self):
        return f"<User {self.id} {self.username}>"


class TotpFactor(db.Model):
    """A confirmed authenticator app (at most one per user). The secret is sealed with the
    factor key `key_id` (crypto.seal_factor, bound to the user); `last_step` is the newest
    30-second step accepted, raised by a conditional UPDATE, so a code is used once."""

    __tablename__ = "totp_factors"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(255))
    key_id: Mapped[str] = mapped_column(String(16))
    last_step: Mapped[Optional[int]] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[Optional[datetime]]


class Passkey(db.Model):
    """A WebAuthn credential (passkey) of a user. `credential_id` is base64url (unique over all
    users); `public_key` the COSE key; `sign_count` the authenticator's counter as last seen
    (0 for authenticators that keep none, e.g. synced passkeys)."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[Optional[list]] = mapped_column(JSON)
    aaguid: Mapped[Optional[str]] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(64))
    backup_eligible: Mapped[bool] = mapped_column(default=False)
    backed_up: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[Optional[datetime]]


class RecoveryCode(db.Model):
    """One single-use recovery code, stored as an HMAC under the factor key `key_id`."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(String(16))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[Optional[datetime]]


class InviteCode(db.Model):
    __tablename__ = "invite_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    all_cnt: Mapped[int] = mapped_column(default=1)
    used_cnt: Mapped[int] = mapped_column(default=0, server_default="0")
    disabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    expire_date: Mapped[Optional[datetime]]
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    uses: Mapped[list["InviteUse"]] = relationship(back_populates="invite", order_by="InviteUse.used_at")
    created_by: Mapped[Optional[User]] = relationship(foreign_keys=[created_by_id])

    @property
    def status(self):
        """active / full / disabled / expired, derived from the stored facts."""
        if self.disabled:
            return "disabled"
        if self.expire_date is not None and self.expire_date <= utcnow():
            return "expired"
        if self.used_cnt >= self.all_cnt:
            return "full"
        return "active"


class InviteUse(db.Model):
    __tablename__ = "invite_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("invite_codes.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)

    invite: Mapped[InviteCode] = relationship(back_populates="uses")
    user: Mapped[Optional[User]] = relationship()


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_email_at", "email", "at"),
        Index("ix_audit_ip_at", "ip", "at"),
        # The event filter is a prefix (LIKE 'login.%'): on PostgreSQL the pattern operator
        # class serves it under any collation (migration 3f8c2a6d9e41); SQLite keeps (event, at).
        Index("ix_audit_event_at", "event", "at").ddl_if(dialect="sqlite"),
        Index("ix_audit_event_pattern", "event", "at", postgresql_ops={"event": "varchar_pattern_ops"})
        .ddl_if(dialect="postgresql"),
        # A date range with an event filter reads the event from the index (PostgreSQL, 3f8c2a6d9e41).
        Index("ix_audit_at", "at").ddl_if(dialect="sqlite"),
        Index("ix_audit_at_event", "at", "event").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    event: Mapped[str] = mapped_column(String(48))
    outcome: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[Optional[str]] = mapped_column(String(254))
    ip: Mapped[Optional[str]] = mapped_column(String(45))
    user_agent: Mapped[Optional[str]] = mapped_column(String(512))
    detail: Mapped[Optional[dict]] = mapped_column(JSON)

    def to_dict(self):
        return {
            "id": self.id, "at": iso(self.at), "event": self.event, "outcome": self.outcome,
            "user_id": self.user_id, "actor_id": self.actor_id, "email": self.email,
            "ip": self.ip, "user_agent": self.user_agent, "detail": self.detail or {},
        }


class DailyFigure(db.Model):
    """One figure of one DISPLAY_TIMEZONE day (mail sent, codes used, sign-ins, …): counted in
    Redis as things happen and copied here by the worker (services/daily.py)."""

    __tablename__ = "daily_figures"

    day: Mapped[date] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


from .models_oauth import OAuthClient, OAuthConsent, OAuthRefreshToken, OAuthSubject  # noqa: E402,F401  (one metadata)
