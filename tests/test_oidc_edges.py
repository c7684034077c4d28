"""The OpenID Connect provider's edges: key rotation, the provider off in production without
keys, hostile or broken input (never a 500), Redis down (503), cross-origin calls."""

import re
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt
from joserfc.jwk import KeySet

from authsvc.services.oidc import keys

from .support import RedisServer
from .test_forward_auth import fwd_service
from .test_oidc import APP_CB, PASSWORD, make_client, pkce


def _pem(path, private):
    path.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(path)


def _sign_in(service):
    service.register_user()
    assert service.browser.submit("/login", {"login": "alice", "password": PASSWORD}).status_code == 302
    return service.browser.client


def _tokens(client, client_id, secret, nonce=None):
    verifier, challenge = pkce()
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": APP_CB, "scope": "openid email",
             "code_challenge": challenge, "code_challenge_method": "S256"}
    if nonce:
        query["nonce"] = nonce
    location = client.get("/oauth/authorize", query_string=query).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    answer = client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                               "redirect_uri": APP_CB, "code_verifier": verifier},
                         auth=(client_id, secret))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_key_rotation_new_key_signs_old_key_still_published(make_service, tmp_path):
    old = _pem(tmp_path / "old.pem", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    new = _pem(tmp_path / "new.pem", ec.generate_private_key(ec.SECP256R1()))
    before = make_service(OIDC_SIGNING_KEYS=old)
    client = _sign_in(before)
    client_id, secret = make_client(before.app, "--trusted")
    old_token = _tokens(client, client_id, secret)["id_token"]

    after = make_service(OIDC_SIGNING_KEYS=f"{new},{old}")  # same database and Redis: a restart
    after.browser.client.set_cookie(**{k: v for k, v in _cookie(client).items()})
    jwks = after.browser.client.get("/oauth/jwks").get_json()
    assert [k["alg"] for k in jwks["keys"]] == ["ES256", "RS256"] and all("d" not in k for k in jwks["keys"])
    key_set = KeySet.import_key_set(jwks)
    new_token = _tokens(after.browser.client, client_id, secret)["id_token"]
    assert jwt.decode(new_token, key_set).header["alg"] == "ES256"
    assert jwt.decode(old_token, key_set).header["alg"] == "RS256"  # still checkable after the rotation
    assert after.browser.client.get("/.well-known/openid-configuration").get_json()[
        "id_token_signing_alg_values_supported"] == ["ES256", "RS256"]


def _policy(response):
    """The Content-Security-Policy as [(directive, [sources])], in the order sent."""
    directives = [d.split() for d in response.headers["Content-Security-Policy"].split(";") if d.strip()]
    return [(d[0], d[1:]) for d in directives]


def test_consent_page_policy_is_the_normal_one_plus_the_clients_origin(make_service):
    """hooks.csp() writes the policy once: the consent page's differs from every other page's
    by the client's redirect origin in form-action, and nothing else (forward-auth's hosts kept)."""
    service = fwd_service(make_service)
    client = _sign_in(service)
    normal = _policy(client.get("/account"))
    assert dict(normal)["form-action"] == ["'self'", "http://app.example.com:*", "https://app.example.com:*",
                                           "http://*.tools.example.com:*", "https://*.tools.example.com:*"]
    client_id, _secret = make_client(service.app)
    _verifier, challenge = pkce()
    consent = client.get("/oauth/authorize", query_string={
        "response_type": "code", "client_id": client_id, "redirect_uri": APP_CB, "scope": "openid",
        "code_challenge": challenge, "code_challenge_method": "S256"}, base_url="https://accounts.example.com")
    assert consent.status_code == 200 and "csrf_token" in consent.get_data(as_text=True)
    widened = [(name, sources + ["https://app.example.net"] if name == "form-action" else sources)
               for name, sources in normal]
    assert _policy(consent) == widened


def _cookie(client):
    cookie = next(iter(client._cookies.values()))
    return {"key": cookie.key, "value": cookie.value, "domain": cookie.domain, "path": cookie.path}


def test_bad_key_file_stops_the_start(make_app, tmp_path):
    (tmp_path / "weak.pem").write_text("not a key")
    with pytest.raises(RuntimeError, match="OIDC_SIGNING_KEYS"):
        make_app(OIDC_SIGNING_KEYS=str(tmp_path / "weak.pem"))
    with pytest.raises(RuntimeError, match="cannot be read"):
        make_app(OIDC_SIGNING_KEYS=str(tmp_path / "missing.pem"))


def test_production_without_keys_has_no_provider(tmp_path):
    assert keys.load({"AUTHSVC_ENV": "production", "OIDC_SIGNING_KEYS": None}, str(tmp_path)) is None
    assert not (tmp_path / keys.GENERATED).exists()
    assert keys.load({"AUTHSVC_ENV": "development", "OIDC_SIGNING_KEYS": None}, str(tmp_path)) is not None
    assert (tmp_path / keys.GENERATED).stat().st_mode & 0o077 == 0


HOSTILE = [
    ("get", "/oauth/authorize", {"query_string": {"client_id": "x" * 5000, "response_type": "code"}}),
    ("get", "/oauth/authorize", {"query_string": {"response_type": "token", "client_id": "nope"}}),
    ("get", "/oauth/authorize", {"query_string": "client_id=a&client_id=b&response_type=code"}),
    ("post", "/oauth/token", {"data": {"grant_type": "authorization_code", "code": "x" * 500}}),
    ("post", "/oauth/token", {"data": {"grant_type": "password", "username": "a", "password": "b"}}),
    ("post", "/oauth/token", {"data": {"grant_type": "refresh_token", "refresh_token": "\x00" * 10}}),
    ("post", "/oauth/token", {"data": "{not form", "content_type": "application/json"}),
    ("post", "/oauth/token", {"headers": {"Authorization": "Basic !!!notbase64"}, "data": {"grant_type": "refresh_token"}}),
    ("get", "/oauth/userinfo", {"headers": {"Authorization": "Bearer " + "z" * 4000}}),
    ("get", "/oauth/userinfo", {"headers": {"Authorization": "Basic abc"}}),
    ("post", "/oauth/revoke", {"data": {"token": "abc"}}),
    ("get", "/oauth/logout", {"query_string": {"id_token_hint": "a.b.c", "post_logout_redirect_uri": "https://evil.example"}}),
    ("get", "/oauth/logout", {"query_string": {"id_token_hint": "e30." * 3, "client_id": "x"}}),
]


@pytest.mark.parametrize("method,path,kwargs", HOSTILE)
def test_hostile_input_is_refused_without_500_or_foreign_redirect(client, method, path, kwargs):
    response = getattr(client, method)(path, **kwargs)
    assert 200 <= response.status_code < 500, response.get_data(as_text=True)
    assert "evil.example" not in response.headers.get("Location", "")


def test_unknown_client_gets_an_error_page(client):
    response = client.get("/oauth/authorize", query_string={
        "response_type": "code", "client_id": "unknown", "redirect_uri": "https://evil.example/cb", "scope": "openid"})
    assert response.status_code == 400 and "Location" not in response.headers


def test_cross_origin_token_calls_are_allowed_without_cookies(client):
    preflight = client.options("/oauth/token", headers={"Origin": "https://spa.example", "Access-Control-Request-Method": "POST"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    assert "Access-Control-Allow-Origin" not in client.get("/oauth/authorize").headers


def test_redis_down_answers_503(make_service, tmp_path):
    redis = RedisServer(tmp_path).start()
    try:
        service = make_service(REDIS_URL=redis.url, RATELIMIT_STORAGE_URI=None)
        client = _sign_in(service)
        client_id, secret = make_client(service.app, "--trusted")
        tokens = _tokens(client, client_id, secret)
        redis.stop()
        assert client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 503
        answer = client.post("/oauth/token", data={"grant_type": "authorization_code", "code": secrets.token_urlsafe(30),
                                                   "redirect_uri": APP_CB, "code_verifier": "v" * 43},
                             auth=(client_id, secret))
        assert answer.status_code == 503
    finally:
        redis.stop()


def test_admin_page_registers_lists_and_deletes_an_app(app, browser):
    from .support import ADMIN_PASSWORD, create_admin

    create_admin(app)
    assert browser.submit("/login", {"login": "boss", "password": ADMIN_PASSWORD}).status_code == 302
    en = {"Accept-Language": "en"}
    bad = browser.submit("/admin/apps", {"name": "Wiki", "redirect_uris": "http://wiki.example.com/cb"}, headers=en)
    assert bad.status_code == 422 and "Each redirect URI must be https" in bad.get_data(as_text=True)
    made = browser.submit("/admin/apps", {"name": "Wiki", "redirect_uris": "https://wiki.example.com/cb\n",
                                          "email": "y"}, headers=en)
    html = made.get_data(as_text=True)
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    client_id = re.search(r"<dt>client_id</dt><dd><code>([^<]+)</code>", html).group(1)
    secret = re.search(r"<dt>client_secret</dt><dd><code>([^<]+)</code>", html).group(1)
    listing = browser.get("/admin/apps").get_data(as_text=True)
    assert client_id in listing and secret not in listing and "openid email" in listing
    from authsvc.services.oidc.clients import query_client

    with app.app_context():
        assert query_client(client_id).check_client_secret(secret)
    deleted = browser.submit(f"/admin/apps/{client_id}/delete", {}, page="/admin/apps")
    assert deleted.status_code == 302 and client_id not in browser.get("/admin/apps").get_data(as_text=True)


def test_admin_apps_page_is_for_admins_only(app, alice_signed_in):
    assert alice_signed_in.get("/admin/apps").status_code == 403


@pytest.fixture
def alice_signed_in(register_user, browser):
    register_user()
    assert browser.submit("/login", {"login": "alice", "password": PASSWORD}).status_code == 302
    return browser


def test_admin_api_registers_lists_and_deletes_clients(app, api):
    from .support import ADMIN_PASSWORD, create_admin

    create_admin(app)
    token = api.post("/sessions", json={"login": "boss", "password": ADMIN_PASSWORD}).get_json()["token"]
    bad = api.post("/admin/oidc-clients", json={"name": "X", "redirect_uris": ["http://x.example/cb"]}, token=token)
    assert bad.status_code == 422 and "redirect_uris" in bad.get_json()["error"]["fields"]
    made = api.post("/admin/oidc-clients", json={"name": "SPA", "redirect_uris": ["https://spa.example/cb"],
                                                 "public": True, "scopes": ["openid", "email"]}, token=token)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["client_secret"] is None and body["public"] and body["scopes"] == ["openid", "email"]
    listed = api.get("/admin/oidc-clients", token=token).get_json()["items"]
    assert [c["client_id"] for c in listed] == [body["client_id"]]
    assert api.delete(f"/admin/oidc-clients/{body['client_id']}", token=token).status_code == 204
    assert api.delete(f"/admin/oidc-clients/{body['client_id']}", token=token).status_code == 404
