"""Durable OpenID Connect state: registered clients, users' consents, refresh tokens and the
stable subject identifier each user is known by to every client.

Authorization codes and access tokens are short-lived and live in Redis (keys.py)."""

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .models import User, utcnow


class OAuthClient(db.Model):
    """An app registered by an admin. A confidential client has a secret (only its SHA-256 is
    kept); a public one (single-page or native app) has none and must use PKCE."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(48), unique=True)
    secret_hash: Mapped[Optional[str]] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(80))
    redirect_uris: Mapped[list] = mapped_column(JSON)  # exact match, no patterns
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    public: Mapped[bool] = mapped_column(default=False, server_default=false())
    scopes: Mapped[str] = mapped_column(String(255))  # space-separated, the most it may ask for
    trusted: Mapped[bool] = mapped_column(default=False, server_default=false())  # no consent page
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthConsent(db.Model):
    """A user's "allow" for one client and the scopes it covers."""

    __tablename__ = "oauth_consents"
    __table_args__ = (UniqueConstraint("user_id", "client_id", name="uq_oauth_consent_user_client"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    scopes: Mapped[str] = mapped_column(String(255))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[OAuthClient] = relationship()


class OAuthRefreshToken(db.Model):
    """One refresh token (its SHA-256). Each use revokes it and issues the next one of the same
    family; presenting a revoked one again is taken as theft and revokes the whole family."""

    __tablename__ = "oauth_refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(255))
    revoked: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    client: Mapped[OAuthClient] = relationship()
    user: Mapped[User] = relationship()


class OAuthSubject(db.Model):
    """The `sub` a user has towards every client: random, stored, never the database id."""

    __tablename__ = "oauth_subjects"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    sub: Mapped[str] = mapped_column(String(43), unique=True)
