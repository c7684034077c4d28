"""Client registration by admins, and the client as Authlib sees it."""

import hmac
import secrets
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.util import scope_to_list

from ...crypto import token_hash
from ...errors import InvalidInput, NotFound
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models_oauth import OAuthClient
from .. import audit

SCOPES = ("openid", "profile", "email")
LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")


class Client(ClientMixin):
    """Authlib's view of a registered client (exact redirect URIs, PKCE for public ones)."""

    def __init__(self, row):
        self.row = row
        self.id = row.id

    def get_client_id(self):
        return self.row.client_id

    def get_default_redirect_uri(self):
        return None  # OpenID Connect: the request always names its redirect_uri

    def get_allowed_scope(self, scope):
        allowed = set(self.row.scopes.split())
        return " ".join(s for s in scope_to_list(scope or "") if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in (self.row.redirect_uris or [])

    def check_client_secret(self, client_secret):
        if self.row.public or not self.row.secret_hash or not client_secret:
            return False
        return hmac.compare_digest(self.row.secret_hash, token_hash(client_secret))

    def check_endpoint_auth_method(self, method, endpoint):
        if self.row.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


def query_client(client_id):
    if not client_id or len(client_id) > 48:
        return None
    row = db.session.execute(db.select(OAuthClient).filter_by(client_id=client_id)).scalar_one_or_none()
    return Client(row) if row else None


def _check_uri(uri):
    """https, http on the loopback address only (a native app's local listener), or an app's
    private scheme (reverse domain, RFC 8252); never a fragment or a pattern."""
    parts = urlsplit(uri)
    if len(uri) > 512 or parts.fragment or "*" in uri or any(c.isspace() for c in uri):
        return False
    if parts.scheme == "https":
        return bool(parts.hostname)
    if parts.scheme == "http":
        return parts.hostname in LOOPBACK
    return "." in parts.scheme and parts.scheme.isascii()


def create_client(name, redirect_uris, public=False, trusted=False, scopes=None,
                  post_logout_redirect_uris=(), actor=None):
    """Register a client; returns (row, secret) — the secret (None for a public client) is
    shown once and only its hash is kept."""
    name = (name or "").strip()
    scopes = list(dict.fromkeys(scopes or SCOPES))
    problems = {}
    if not 1 <= len(name) <= 80:
        problems["name"] = [_l("A name of 1 to 80 characters is required.")]
    if not redirect_uris or not all(_check_uri(u) for u in redirect_uris):
        problems["redirect_uris"] = [_l("Each redirect URI must be https (http only on 127.0.0.1 or "
                                        "localhost, or an app's own reverse-domain scheme), without a fragment.")]
    if post_logout_redirect_uris and not all(_check_uri(u) for u in post_logout_redirect_uris):
        problems["post_logout_redirect_uris"] = [_l("Each sign-out redirect URI must follow the same rules.")]
    if "openid" not in scopes or not set(scopes) <= set(SCOPES):
        problems["scopes"] = [_l("Scopes must include openid and be among: openid profile email.")]
    if problems:
        raise InvalidInput(problems)
    secret = None if public else secrets.token_urlsafe(32)
    row = OAuthClient(client_id=secrets.token_urlsafe(18), name=name, public=bool(public),
                      secret_hash=token_hash(secret) if secret else None, trusted=bool(trusted),
                      redirect_uris=list(dict.fromkeys(redirect_uris)), scopes=" ".join(scopes),
                      post_logout_redirect_uris=list(dict.fromkeys(post_logout_redirect_uris or ())),
                      created_by_id=getattr(actor, "id", actor))
    db.session.add(row)
    db.session.flush()
    audit.record("oauth.client_created", actor=actor,
                 detail={"client_id": row.client_id, "name": name, "public": row.public, "trusted": row.trusted})
    return row, secret


def list_clients():
    return list(db.session.execute(db.select(OAuthClient).order_by(OAuthClient.id)).scalars())


def delete_client(client_id, actor=None):
    """Remove a client: its consents and refresh tokens go with it (ON DELETE CASCADE)."""
    row = db.session.execute(db.select(OAuthClient).filter_by(client_id=client_id)).scalar_one_or_none()
    if row is None:
        raise NotFound()
    from .grants import revoke_client_families

    revoke_client_families(row.id)
    db.session.delete(row)
    audit.record("oauth.client_deleted", actor=actor, detail={"client_id": client_id, "name": row.name})


def describe(row):
    return {"client_id": row.client_id, "name": row.name, "public": row.public, "trusted": row.trusted,
            "redirect_uris": list(row.redirect_uris or []), "scopes": row.scopes.split(),
            "post_logout_redirect_uris": list(row.post_logout_redirect_uris or [])}
