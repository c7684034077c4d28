"""Authlib's authorization server, wired to our clients, codes and tokens: the authorization
code flow with PKCE (S256 only; required for public clients), rotating refresh tokens, ID
tokens signed with the first of OIDC_SIGNING_KEYS, userinfo, discovery and logout checks."""

import hmac
import re
import time
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants as oauth_grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.common.security import generate_token
from authlib.oidc.core import OpenIDCode
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError

from ...extensions import db
from ...models import User
from . import clients, grants, keys

EXTENSION = "authsvc.oidc_server"
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


def _live_user(user_id, epoch=None):
    """The user, while active and (when given) still under the epoch the grant was made in."""
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or (epoch is not None and not hmac.compare_digest(epoch, user.auth_epoch)):
        return None
    return user


class CodeGrant(oauth_grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code, request):
        data = request.payload.data
        user = request.user
        # auth_time: when the person signed in on this browser session (the view sets it), not
        # the account's last sign-in anywhere, which another device may have made later
        signed_in = int(getattr(self, "auth_time", None) or time.time())
        grants.save_code(code, request.client, request.payload.redirect_uri, request.scope, user,
                         data.get("nonce"), data.get("code_challenge"), data.get("code_challenge_method"),
                         signed_in)

    def query_authorization_code(self, code, client):
        return grants.take_code(code, client)

    def delete_authorization_code(self, authorization_code):
        """Already gone: take_code read it with GETDEL."""

    def authenticate_user(self, authorization_code):
        return _live_user(authorization_code.data["uid"], authorization_code.data["epoch"])


class RefreshGrant(oauth_grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every use yields the next token

    def authenticate_refresh_token(self, refresh_token):
        return grants.take_refresh_token(refresh_token)

    def authenticate_user(self, refresh_token):
        return _live_user(refresh_token.row.user_id)

    def revoke_old_credential(self, refresh_token):
        """Already spent: take_refresh_token revoked it as it took it."""


class Pkce(CodeChallenge):
    """S256 only ("plain" shows the verifier to whoever sees the redirect); a public client
    must send a challenge, a confidential one may."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if grant.request.client.row.public and not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256.")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method': use S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code):
        return authorization_code.data.get("challenge")

    def get_authorization_code_challenge_method(self, authorization_code):
        return authorization_code.data.get("method")


class OpenID(OpenIDCode):
    def exists_nonce(self, nonce, request):
        return False  # the nonce is the client's to check; we carry it into the ID token

    def resolve_client_private_key(self, client):
        return keys.current().signing[0]

    def get_client_algorithm(self, client):
        return keys.current().signing[1]

    def get_encode_header(self, client):
        key, alg = keys.current().signing
        return {"alg": alg, "kid": key.kid, "typ": "JWT"}

    def get_client_claims(self, client):
        return {"iss": issuer(), "aud": [client.get_client_id()],
                "exp": int(time.time()) + current_app.config["OIDC_ID_TOKEN_TTL"]}

    def generate_user_info(self, user, scope):
        return user_claims(user, scope)


def _save_token(token, request):
    code = getattr(request, "authorization_code", None)
    family = code.data["family"] if code is not None else request.refresh_token.row.family_id
    grants.save_tokens(token, request.client, request.user, family)


def init_app(app):
    """Load the signing keys (a bad key file stops the start) and build the server, or leave
    the provider off (production without OIDC_SIGNING_KEYS)."""
    signing = keys.load(app.config, app.instance_path)
    if signing is None:
        return
    app.extensions[keys.EXTENSION] = signing
    server = AuthorizationServer()
    server.init_app(app, query_client=clients.query_client, save_token=_save_token)
    server.register_token_generator("default", BearerTokenGenerator(
        lambda **_: generate_token(42), lambda **_: generate_token(48),
        lambda client, grant_type: app.config["OIDC_ACCESS_TOKEN_TTL"]))
    server.register_grant(CodeGrant, [Pkce(required=True), OpenID(require_nonce=False)])
    server.register_grant(RefreshGrant)
    app.extensions[EXTENSION] = server


def current():
    return current_app.extensions.get(EXTENSION)


def issuer():
    return current_app.config["PUBLIC_URL"].rstrip("/")


def user_claims(user, scope):
    scopes = set((scope or "").split())
    claims = {"sub": grants.subject(user)}
    if "profile" in scopes:
        claims["preferred_username"] = user.username
    if "email" in scopes:
        claims.update(email=user.email, email_verified=user.email_verified_at is not None)
    return claims


def userinfo(access_token):
    """The claims an access token may read, or None for a dead token."""
    record = grants.access_token(access_token)
    user = record and _live_user(record["uid"], record["epoch"])
    if user is None:
        return None
    return user_claims(user, record["scope"])


def discovery():
    base = issuer()
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "userinfo_endpoint": f"{base}/oauth/userinfo",
        "jwks_uri": f"{base}/oauth/jwks",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "end_session_endpoint": f"{base}/oauth/logout",
        "scopes_supported": list(clients.SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": keys.current().algorithms(),
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce",
                             "preferred_username", "email", "email_verified"],
    }


def origins_of(uris):
    """CSP sources for redirect URIs: https://host[:port], or an app's own scheme."""
    sources = []
    for uri in uris:
        parts = urlsplit(uri)
        source = f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else f"{parts.scheme}:"
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:(//[A-Za-z0-9.\-\[\]:]+)?", source) and source not in sources:
            sources.append(source)
    return sources


def redirect_origins(authorize_path):
    """The origin an /oauth/authorize address (a sign-in's `next`) would send its answer to,
    when its client and redirect_uri are registered; else none."""
    query = parse_qs(urlsplit(authorize_path).query)
    client = clients.query_client((query.get("client_id") or [""])[0])
    redirect_uri = (query.get("redirect_uri") or [""])[0]
    if client is None or not client.check_redirect_uri(redirect_uri):
        return []
    return origins_of([redirect_uri])


def logout_target(id_token_hint, post_logout_redirect_uri, client_id=None):
    """(client row or None, where to go after sign-out or None, the hint's sub or None).
    The redirect is honoured only when registered for the client the hint (or client_id) names;
    the hint is checked against our keys (an expired one is fine: it only names who)."""
    aud, sub = client_id, None
    if id_token_hint:
        try:
            token = jwt.decode(id_token_hint, keys.current().key_set(), algorithms=keys.current().algorithms())
        except (JoseError, ValueError):
            return None, None, None
        claims = token.claims
        if claims.get("iss") != issuer():
            return None, None, None
        audience = claims.get("aud")
        aud = audience[0] if isinstance(audience, list) and audience else audience
        sub = claims.get("sub")
        if client_id and client_id != aud:
            return None, None, None
    client = clients.query_client(aud) if isinstance(aud, str) else None
    if client is None:
        return None, None, sub
    uri = post_logout_redirect_uri if post_logout_redirect_uri in (client.row.post_logout_redirect_uris or []) else None
    return client.row, uri, sub


def must_sign_in_again(data, auth_time, now=None):
    """Whether the app asked for a sign-in newer than the session's (`auth_time`, epoch s):
    `prompt=login`, or `max_age` seconds passed since. A max_age that is not a whole number of
    seconds is the app's error (invalid_request, sent back to it)."""
    if "login" in (data.get("prompt") or "").split():
        return True
    raw = data.get("max_age")
    if raw in (None, ""):
        return False
    if not str(raw).isdigit() or len(str(raw)) > 10:
        raise InvalidRequestError("max_age must be a whole number of seconds.")
    return (now or time.time()) - auth_time > int(raw)


def without_login_prompt(url):
    """The authorization request again, minus prompt=login (the person has just signed in)."""
    parts = urlsplit(url)
    query = [(k, " ".join(p for p in v.split() if p != "login")) if k == "prompt" else (k, v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return parts._replace(query=urlencode([(k, v) for k, v in query if not (k == "prompt" and not v)])).geturl()
