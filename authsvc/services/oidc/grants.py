"""What a user's grant leaves behind: consents (SQL), authorization codes and access tokens
(Redis), refresh tokens (SQL) and the token families that tie them together.

A family starts with an authorization code; the access and refresh tokens it yields, and every
refresh token that follows, belong to it. Revoking a family (code replay, refresh token reuse,
consent withdrawn, sessions ended) ends all of them: refresh tokens in SQL, access tokens by a
Redis marker checked on every use.
"""

import json
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ... import keys
from ...crypto import token_hash
from ...errors import NotFound
from ...extensions import db, redis_client
from ...models import utcnow
from ...models_oauth import OAuthClient, OAuthConsent, OAuthRefreshToken, OAuthSubject
from .. import audit


def _update(statement):
    """A Core UPDATE; marked so that the request's one commit (hooks.py) keeps it."""
    result = db.session.execute(statement)
    db.session.info["flushed"] = True
    return result


# --- subjects ------------------------------------------------------------------------------
def subject(user):
    """The user's stable `sub`: random, stored on first use (INSERT .. ON CONFLICT DO NOTHING:
    two first uses at once agree), never the database id."""
    row = db.session.get(OAuthSubject, user.id)
    if row is not None:
        return row.sub
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    _update(insert(OAuthSubject).values(user_id=user.id, sub=secrets.token_urlsafe(24))
            .on_conflict_do_nothing(index_elements=["user_id"]))
    return db.session.execute(db.select(OAuthSubject.sub).filter_by(user_id=user.id)).scalar_one()


# --- consents -----------------------------------------------------------------------------
def consent_covers(user, client_row, scope):
    if client_row.trusted:
        return True
    consent = db.session.execute(db.select(OAuthConsent).filter_by(
        user_id=user.id, client_id=client_row.id)).scalar_one_or_none()
    return consent is not None and set(scope.split()) <= set(consent.scopes.split())


def grant_consent(user, client_row, scope):
    consent = db.session.execute(db.select(OAuthConsent).filter_by(
        user_id=user.id, client_id=client_row.id)).scalar_one_or_none()
    if consent is None:
        consent = OAuthConsent(user_id=user.id, client_id=client_row.id, scopes="")
        db.session.add(consent)
    consent.scopes = " ".join(sorted(set(consent.scopes.split()) | set(scope.split())))
    consent.granted_at = utcnow()
    audit.record("oauth.consent_granted", user=user,
                 detail={"client_id": client_row.client_id, "scopes": consent.scopes})


def deny_consent(user, client_row):
    audit.record("oauth.consent_denied", user=user, detail={"client_id": client_row.client_id})


def record_logout(user, client_row):
    audit.record("oauth.logout", user=user, detail={"client_id": client_row.client_id if client_row else None})


def apps_of(user):
    """The clients the user allowed, for the account page."""
    rows = db.session.execute(db.select(OAuthConsent).filter_by(user_id=user.id)
                              .order_by(OAuthConsent.granted_at.desc())).scalars()
    return [{"client_id": c.client.client_id, "name": c.client.name, "scopes": c.scopes.split(),
             "granted_at": c.granted_at} for c in rows]


def revoke_app(user, client_id):
    """Withdraw the user's consent for a client and end its tokens."""
    row = db.session.execute(db.select(OAuthClient).filter_by(client_id=client_id)).scalar_one_or_none()
    consent = row and db.session.execute(db.select(OAuthConsent).filter_by(
        user_id=user.id, client_id=row.id)).scalar_one_or_none()
    if consent is None:
        raise NotFound()
    db.session.delete(consent)
    ended = _revoke_where(OAuthRefreshToken.user_id == user.id, OAuthRefreshToken.client_id == row.id)
    audit.record("oauth.consent_revoked", user=user, detail={"client_id": client_id, "families": ended})
    return row.name


# --- authorization codes ------------------------------------------------------------------
class AuthorizationCode:
    """A code's record as Authlib's grant and OpenID extension read it."""

    def __init__(self, data):
        self.data = data

    def get_redirect_uri(self):
        return self.data["redirect_uri"]

    def get_scope(self):
        return self.data["scope"]

    def get_nonce(self):
        return self.data.get("nonce")

    def get_auth_time(self):
        return self.data.get("auth_time")

    def get_acr(self):
        return None

    def get_amr(self):
        return None


def save_code(code, client, redirect_uri, scope, user, nonce, challenge, method, auth_time):
    record = {"client_id": client.get_client_id(), "redirect_uri": redirect_uri, "scope": scope,
              "uid": user.id, "epoch": user.auth_epoch, "nonce": nonce, "challenge": challenge,
              "method": method, "auth_time": auth_time, "family": secrets.token_hex(16)}
    redis_client.set(keys.oauth_code(token_hash(code)), json.dumps(record), ex=keys.oauth_code_ttl())
    audit.record("oauth.authorized", user=user, detail={"client_id": record["client_id"], "scope": scope})


def take_code(code, client):
    """The code's record, once: GETDEL. A code seen before (replay) revokes the tokens it
    yielded (RFC 6749 §4.1.2); a code of another client is refused (and spent)."""
    if not code or len(code) > 128:
        return None
    digest = token_hash(code)
    raw = redis_client.getdel(keys.oauth_code(digest))
    if raw is None:
        family = redis_client.get(keys.oauth_code_used(digest))
        if family is not None:
            revoke_family(family.decode(), reason="code_replayed")
        return None
    record = json.loads(raw)
    redis_client.set(keys.oauth_code_used(digest), record["family"], ex=keys.oauth_code_used_ttl())
    if record["client_id"] != client.get_client_id():
        revoke_family(record["family"], reason="code_of_other_client")
        return None
    return AuthorizationCode(record)


# --- tokens -------------------------------------------------------------------------------
def save_tokens(token, client, user, family):
    """Store a token response: the access token in Redis, the refresh token (if any) in SQL."""
    record = {"uid": user.id, "epoch": user.auth_epoch, "client_id": client.get_client_id(),
              "scope": token.get("scope", ""), "family": family}
    redis_client.set(keys.oauth_access(token_hash(token["access_token"])), json.dumps(record),
                     ex=keys.oauth_access_ttl())
    if token.get("refresh_token"):
        db.session.add(OAuthRefreshToken(
            token_hash=token_hash(token["refresh_token"]), family_id=family, client_id=client.id,
            user_id=user.id, scope=token.get("scope", ""),
            expires_at=utcnow() + timedelta(days=current_app.config["OIDC_REFRESH_TOKEN_DAYS"])))


def access_token(token):
    """The record of a live access token, or None."""
    if not token or len(token) > 128:
        return None
    raw = redis_client.get(keys.oauth_access(token_hash(token)))
    if raw is None:
        return None
    record = json.loads(raw)
    if redis_client.exists(keys.oauth_family_revoked(record["family"])):
        return None
    return record


class RefreshToken:
    def __init__(self, row):
        self.row = row

    def check_client(self, client):
        return self.row.client_id == client.id

    def get_scope(self):
        return self.row.scope


def take_refresh_token(token):
    """Spend a refresh token (a conditional UPDATE: one request wins). A token spent or revoked
    before is taken as stolen: its whole family is revoked."""
    if not token or len(token) > 128:
        return None
    row = db.session.execute(db.select(OAuthRefreshToken).filter_by(token_hash=token_hash(token))).scalar_one_or_none()
    if row is None:
        return None
    won = _update(update(OAuthRefreshToken).where(
        OAuthRefreshToken.id == row.id, OAuthRefreshToken.revoked.is_(False)).values(revoked=True)).rowcount
    if not won:
        revoke_family(row.family_id, reason="refresh_token_reused")
        return None
    if redis_client.exists(keys.oauth_family_revoked(row.family_id)):
        return None  # revoked while this token was being saved (a code replay racing its first use)
    if row.expires_at <= utcnow():
        return None
    return RefreshToken(row)


def revoke_token(token, client):
    """RFC 7009: end an access or refresh token of this client (unknown tokens are no error)."""
    record = access_token(token)
    if record is not None and record["client_id"] == client.get_client_id():
        redis_client.delete(keys.oauth_access(token_hash(token)))
        audit.record("oauth.token_revoked", user=record["uid"], detail={"client_id": record["client_id"], "kind": "access"})
        return
    row = db.session.execute(db.select(OAuthRefreshToken).filter_by(token_hash=token_hash(token or ""))).scalar_one_or_none()
    if row is not None and row.client_id == client.id:
        revoke_family(row.family_id, reason="revoked_by_client")


def _mark_revoked(families):
    if families:
        pipe = redis_client.pipeline(transaction=False)
        for family in families:
            pipe.set(keys.oauth_family_revoked(family), "1", ex=keys.oauth_family_revoked_ttl())
        pipe.execute()


def revoke_family(family, reason):
    rows = db.session.execute(db.select(OAuthRefreshToken).filter_by(family_id=family)).scalars().all()
    _update(update(OAuthRefreshToken).where(OAuthRefreshToken.family_id == family)
                       .values(revoked=True))
    _mark_revoked([family])
    first = rows[0] if rows else None
    audit.record("oauth.tokens_revoked", outcome="success" if reason == "revoked_by_client" else "refused",
                 user=first.user_id if first else None,
                 detail={"reason": reason, "family": family[:8], "client": first.client.client_id if first else None})


def _revoke_where(*conditions):
    """Revoke every token family with a refresh token matching; returns how many."""
    since = utcnow() - timedelta(days=current_app.config["OIDC_REFRESH_TOKEN_DAYS"])
    families = set(db.session.execute(db.select(OAuthRefreshToken.family_id).where(
        *conditions, OAuthRefreshToken.created_at >= since)).scalars())
    _update(update(OAuthRefreshToken).where(*conditions, OAuthRefreshToken.revoked.is_(False))
                       .values(revoked=True))
    _mark_revoked(families)
    return len(families)


def revoke_user_tokens(user, reason):
    """Sessions ended (password change, reset, deactivation): every refresh token goes too.
    Access tokens already stop at the user's new epoch."""
    ended = _revoke_where(OAuthRefreshToken.user_id == user.id, OAuthRefreshToken.revoked.is_(False))
    if ended:
        audit.record("oauth.tokens_revoked", user=user, detail={"reason": reason, "families": ended})
    return ended


def revoke_client_families(client_pk):
    _revoke_where(OAuthRefreshToken.client_id == client_pk)

