"""The OpenID Connect provider, driven by Authlib's own client (not our code): the code flow
with PKCE, the ID token checked against the JWKS, userinfo, refresh rotation, logout; and the
attacks the protocol is known for."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from authsvc.extensions import db
from authsvc.models import AuditEvent

from .support import csrf_from
from .support.oauth_client import oauth_session

BASE = "https://accounts.example.com"
APP_CB = "https://app.example.net/callback"
OTHER_CB = "https://other.example.org/cb"
PASSWORD = "correct horse battery"


def make_client(app, *extra, redirect=APP_CB, name="Wiki"):
    result = app.test_cli_runner().invoke(args=["oidc-client", "create", "--name", name, "--redirect-uri", redirect,
                                                "--post-logout-uri", "https://app.example.net/bye", *extra])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.output.splitlines() if ": " in line)
    return lines["client_id"], lines.get("client_secret")


@pytest.fixture
def alice(register_user, browser):
    register_user()
    response = browser.submit("/login", {"login": "alice", "password": PASSWORD})
    assert response.status_code == 302
    return browser


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(browser, url, allow=True):
    """The user's browser at the authorization URL: consents if asked; returns the Location."""
    path = url.replace(BASE, "")
    response = browser.client.get(path)
    if response.status_code == 200 and "csrf_token" in response.get_data(as_text=True):
        html = response.get_data(as_text=True)
        response = browser.client.post(path, data={"csrf_token": csrf_from(html),
                                                   "decision": "allow" if allow else "deny"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def start(app, browser, client_id, secret=None, scope="openid profile email", nonce="n-0S6_WzA2Mj"):
    session = oauth_session(browser.client, client_id=client_id, client_secret=secret, scope=scope,
                            redirect_uri=APP_CB, code_challenge_method="S256",
                            token_endpoint_auth_method="client_secret_basic" if secret else "none")
    verifier = secrets.token_urlsafe(48)
    url, state = session.create_authorization_url(f"{BASE}/oauth/authorize", code_verifier=verifier, nonce=nonce)
    return session, verifier, url, state


def test_code_flow_with_pkce_id_token_userinfo_refresh_and_logout(app, alice):
    client_id, secret = make_client(app)
    session, verifier, url, state = start(app, alice, client_id, secret)

    consent = alice.client.get(url.replace(BASE, ""), headers={"Accept-Language": "en"})
    assert consent.status_code == 200 and "Allow Wiki to use your account?" in consent.get_data(as_text=True)
    callback = authorize(alice, url)
    assert callback.startswith(APP_CB + "?")
    assert parse_qs(urlsplit(callback).query)["state"] == [state]  # echoed unchanged

    token = session.fetch_token(f"{BASE}/oauth/token", authorization_response=callback, code_verifier=verifier)
    assert token["token_type"].lower() == "bearer" and token["refresh_token"]

    config = alice.client.get("/.well-known/openid-configuration").get_json()
    assert config["issuer"] == BASE and config["code_challenge_methods_supported"] == ["S256"]
    jwks = KeySet.import_key_set(alice.client.get(config["jwks_uri"].replace(BASE, "")).get_json())
    id_token = jwt.decode(token["id_token"], jwks, algorithms=config["id_token_signing_alg_values_supported"])
    claims = id_token.claims
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": BASE}, aud={"essential": True, "value": client_id},
                          nonce={"essential": True, "value": "n-0S6_WzA2Mj"},
                          exp={"essential": True}).validate(claims)
    assert claims["sub"] != "1" and len(claims["sub"]) >= 22  # not the database id

    info = session.get(f"{BASE}/oauth/userinfo").json()
    assert info == {"sub": claims["sub"], "email": "alice@example.com", "email_verified": True,
                    "preferred_username": "alice"}

    old_refresh = token["refresh_token"]
    fresh = session.refresh_token(f"{BASE}/oauth/token", refresh_token=old_refresh)
    assert fresh["refresh_token"] != old_refresh
    assert session.get(f"{BASE}/oauth/userinfo").status_code == 200

    # the second consent is remembered: straight back to the app
    again = oauth_session(alice.client, client_id=client_id, client_secret=secret, scope="openid",
                          redirect_uri=APP_CB, code_challenge_method="S256")
    url2, _state = again.create_authorization_url(f"{BASE}/oauth/authorize", code_verifier=verifier)
    assert alice.client.get(url2.replace(BASE, "")).headers["Location"].startswith(APP_CB + "?code=")

    # the old refresh token is refused now, and its reuse ends the whole family
    replay = alice.client.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": old_refresh},
                               auth=(client_id, secret))
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    assert session.get(f"{BASE}/oauth/userinfo").status_code == 401
    refused = alice.client.post("/oauth/token", data={"grant_type": "refresh_token",
                                                      "refresh_token": fresh["refresh_token"]}, auth=(client_id, secret))
    assert refused.status_code == 400

    # RP-initiated logout with the ID token: signed out, sent to the registered page
    out = alice.client.get("/oauth/logout", query_string={
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": "https://app.example.net/bye", "state": "s1"})
    assert out.status_code == 302 and out.headers["Location"] == "https://app.example.net/bye?state=s1"
    assert alice.client.get("/account").status_code == 302


def test_public_client_needs_s256_pkce(app, alice):
    client_id, _ = make_client(app, "--public", "--trusted")
    base = {"response_type": "code", "client_id": client_id, "redirect_uri": APP_CB, "scope": "openid", "state": "xyz"}

    for extra in ({}, {"code_challenge": "a" * 43, "code_challenge_method": "plain"}, {"code_challenge": "a" * 43}):
        response = alice.client.get("/oauth/authorize", query_string={**base, **extra})
        location = response.headers["Location"]
        assert location.startswith(APP_CB) and "error=invalid_request" in location and "code=" not in location

    verifier, challenge = pkce()
    location = alice.client.get("/oauth/authorize", query_string={
        **base, "code_challenge": challenge, "code_challenge_method": "S256"}).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    wrong = alice.client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                    "redirect_uri": APP_CB, "client_id": client_id,
                                                    "code_verifier": secrets.token_urlsafe(48)})
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    # the code was spent by the failed try: even the right verifier is refused now
    right = alice.client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                    "redirect_uri": APP_CB, "client_id": client_id,
                                                    "code_verifier": verifier})
    assert right.status_code == 400


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(app, alice):
    client_id, _ = make_client(app)
    verifier, challenge = pkce()
    for uri in (OTHER_CB, APP_CB + "/", APP_CB + "?x=1", "https://app.example.net/callback#frag"):
        response = alice.client.get("/oauth/authorize", query_string={
            "response_type": "code", "client_id": client_id, "redirect_uri": uri, "scope": "openid",
            "code_challenge": challenge, "code_challenge_method": "S256"}, headers={"Accept-Language": "en"})
        assert response.status_code == 400 and "Location" not in response.headers
        assert "This sign-in request cannot be accepted" in response.get_data(as_text=True)


def _code(browser, client_id, challenge, nonce=None):
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": APP_CB, "scope": "openid",
             "code_challenge": challenge, "code_challenge_method": "S256", "state": "st"}
    if nonce:
        query["nonce"] = nonce
    location = browser.client.get("/oauth/authorize", query_string=query).headers["Location"]
    return parse_qs(urlsplit(location).query)["code"][0]


def test_code_replay_is_refused_and_revokes_what_the_code_gave(app, alice):
    client_id, secret = make_client(app, "--trusted")
    verifier, challenge = pkce()
    code = _code(alice, client_id, challenge)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": APP_CB, "code_verifier": verifier}
    first = alice.client.post("/oauth/token", data=form, auth=(client_id, secret))
    assert first.status_code == 200
    tokens = first.get_json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert alice.client.get("/oauth/userinfo", headers=bearer).status_code == 200

    second = alice.client.post("/oauth/token", data=form, auth=(client_id, secret))
    assert second.status_code == 400 and second.get_json()["error"] == "invalid_grant"
    assert alice.client.get("/oauth/userinfo", headers=bearer).status_code == 401
    refresh = alice.client.post("/oauth/token", data={"grant_type": "refresh_token",
                                                      "refresh_token": tokens["refresh_token"]}, auth=(client_id, secret))
    assert refresh.status_code == 400
    with app.app_context():
        events = db.session.execute(db.select(AuditEvent.event, AuditEvent.detail)).all()
    assert any(e == "oauth.tokens_revoked" and d["reason"] == "code_replayed" for e, d in events)


def test_client_b_cannot_redeem_a_code_or_refresh_token_of_client_a(app, alice):
    a_id, a_secret = make_client(app, "--trusted", name="A")
    b_id, b_secret = make_client(app, "--trusted", name="B")
    verifier, challenge = pkce()
    code = _code(alice, a_id, challenge)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": APP_CB, "code_verifier": verifier}
    stolen = alice.client.post("/oauth/token", data=form, auth=(b_id, b_secret))
    assert stolen.status_code == 400 and "access_token" not in stolen.get_json()

    code = _code(alice, a_id, challenge)
    tokens = alice.client.post("/oauth/token", data=dict(form, code=code), auth=(a_id, a_secret)).get_json()
    misuse = alice.client.post("/oauth/token", data={"grant_type": "refresh_token",
                                                     "refresh_token": tokens["refresh_token"]}, auth=(b_id, b_secret))
    assert misuse.status_code == 400 and "access_token" not in misuse.get_json()
    wrong_secret = alice.client.post("/oauth/token", data=dict(form, code=_code(alice, a_id, challenge)),
                                     auth=(a_id, b_secret))
    assert wrong_secret.status_code == 401 and wrong_secret.get_json()["error"] == "invalid_client"


def test_nonce_is_carried_into_the_id_token(app, alice):
    client_id, secret = make_client(app, "--trusted")
    verifier, challenge = pkce()
    code = _code(alice, client_id, challenge, nonce="abc123")
    tokens = alice.client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                     "redirect_uri": APP_CB, "code_verifier": verifier},
                               auth=(client_id, secret)).get_json()
    jwks = KeySet.import_key_set(alice.client.get("/oauth/jwks").get_json())
    assert jwt.decode(tokens["id_token"], jwks).claims["nonce"] == "abc123"


def test_signed_out_user_is_sent_to_sign_in_and_back(app, register_user, browser):
    register_user()
    client_id, secret = make_client(app)
    _verifier, challenge = pkce()
    path = "/oauth/authorize"
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": APP_CB, "scope": "openid",
             "code_challenge": challenge, "code_challenge_method": "S256", "state": "st"}
    response = browser.client.get(path, query_string=query)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    login_page = response.headers["Location"]
    target = parse_qs(urlsplit(login_page).query)["next"][0]
    assert f'value="{target}"'.replace("&", "&amp;") in browser.client.get(login_page).get_data(as_text=True)
    back = browser.submit(login_page, {"login": "alice", "password": PASSWORD, "next": target})  # the form's hidden field
    assert back.status_code == 302 and back.headers["Location"].startswith("/oauth/authorize?")
    page = browser.client.get(back.headers["Location"])
    assert page.status_code == 200 and "csrf_token" in page.get_data(as_text=True)


def test_denied_consent_sends_access_denied(app, alice):
    client_id, secret = make_client(app)
    session, verifier, url, state = start(app, alice, client_id, secret)
    location = authorize(alice, url, allow=False)
    assert "error=access_denied" in location and "code=" not in location


def test_account_lists_and_revokes_app_access(app, alice):
    client_id, secret = make_client(app)
    session, verifier, url, state = start(app, alice, client_id, secret)
    token = session.fetch_token(f"{BASE}/oauth/token", authorization_response=authorize(alice, url),
                                code_verifier=verifier)
    page = alice.client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Apps with access" in page and "Wiki" in page
    html = page
    response = alice.client.post(f"/account/apps/{client_id}/revoke", data={"csrf_token": csrf_from(html)},
                                 headers={"Accept-Language": "en"})
    assert response.status_code == 302
    after = alice.client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Wiki can no longer use your account." in after and 'id="apps"' not in after
    assert session.get(f"{BASE}/oauth/userinfo").status_code == 401
    refused = alice.client.post("/oauth/token", data={"grant_type": "refresh_token",
                                                      "refresh_token": token["refresh_token"]}, auth=(client_id, secret))
    assert refused.status_code == 400
    # next time the consent page is shown again
    _s, _v, url2, _st = start(app, alice, client_id, secret)
    assert alice.client.get(url2.replace(BASE, "")).status_code == 200


def test_password_change_ends_refresh_tokens(app, alice):
    client_id, secret = make_client(app, "--trusted")
    verifier, challenge = pkce()
    code = _code(alice, client_id, challenge)
    tokens = alice.client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                     "redirect_uri": APP_CB, "code_verifier": verifier},
                               auth=(client_id, secret)).get_json()
    changed = alice.submit("/account/password", {"current_password": PASSWORD, "new_password": "another good passphrase",
                                                 "confirm": "another good passphrase"})
    assert changed.status_code == 302, changed.get_data(as_text=True)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert alice.client.get("/oauth/userinfo", headers=bearer).status_code == 401
    refresh = alice.client.post("/oauth/token", data={"grant_type": "refresh_token",
                                                      "refresh_token": tokens["refresh_token"]}, auth=(client_id, secret))
    assert refresh.status_code == 400


def test_revocation_endpoint_ends_the_refresh_token(app, alice):
    client_id, secret = make_client(app, "--trusted")
    verifier, challenge = pkce()
    code = _code(alice, client_id, challenge)
    tokens = alice.client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                     "redirect_uri": APP_CB, "code_verifier": verifier},
                               auth=(client_id, secret)).get_json()
    assert alice.client.post("/oauth/revoke", data={"token": tokens["refresh_token"]},
                             auth=(client_id, secret)).status_code == 200
    assert alice.client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401
    assert alice.client.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                             auth=(client_id, secret)).status_code == 400


def test_cli_lists_and_deletes_clients(app):
    client_id, secret = make_client(app)
    runner = app.test_cli_runner()
    assert client_id in runner.invoke(args=["oidc-client", "list"]).output
    assert secret not in runner.invoke(args=["oidc-client", "list"]).output
    bad = runner.invoke(args=["oidc-client", "create", "--name", "X", "--redirect-uri", "http://evil.example/cb"])
    assert bad.exit_code != 0 and "redirect_uris" in bad.output
    assert runner.invoke(args=["oidc-client", "delete", client_id]).exit_code == 0
    assert client_id not in runner.invoke(args=["oidc-client", "list"]).output


def test_prompt_none_answers_errors_instead_of_pages(app, register_user, browser):
    register_user()
    client_id, _secret = make_client(app)
    _verifier, challenge = pkce()
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": APP_CB, "scope": "openid",
             "code_challenge": challenge, "code_challenge_method": "S256", "state": "st", "prompt": "none"}
    signed_out = browser.client.get("/oauth/authorize", query_string=query).headers["Location"]
    assert signed_out.startswith(APP_CB) and "error=login_required" in signed_out and "state=st" in signed_out
    assert browser.submit("/login", {"login": "alice", "password": PASSWORD}).status_code == 302
    no_consent = browser.client.get("/oauth/authorize", query_string=query).headers["Location"]
    assert no_consent.startswith(APP_CB) and "error=consent_required" in no_consent and "state=st" in no_consent


def test_redis_keeps_only_hashes_and_every_oauth_key_expires(app, alice):
    client_id, secret = make_client(app, "--trusted")
    verifier, challenge = pkce()
    code = _code(alice, client_id, challenge)
    tokens = alice.client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                     "redirect_uri": APP_CB, "code_verifier": verifier},
                               auth=(client_id, secret)).get_json()
    alice.client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": APP_CB,
                                            "code_verifier": verifier}, auth=(client_id, secret))  # a replay
    redis = app.extensions["authsvc.redis"]
    oauth_keys = list(redis.scan_iter("authsvc:oauth:*"))
    assert oauth_keys and all(redis.ttl(key) > 0 for key in oauth_keys)
    stored = b" ".join(oauth_keys + [redis.get(key) or b"" for key in oauth_keys]).decode()
    for secret_value in (code, tokens["access_token"], tokens["refresh_token"], secret, verifier):
        assert secret_value not in stored


def test_deactivation_ends_refresh_tokens_and_everything_is_audited(app, alice, api):
    from .support import ADMIN_PASSWORD, create_admin

    client_id, secret = make_client(app)
    session, verifier, url, state = start(app, alice, client_id, secret)
    token = session.fetch_token(f"{BASE}/oauth/token", authorization_response=authorize(alice, url),
                                code_verifier=verifier)
    create_admin(app)
    admin = api.post("/sessions", json={"login": "boss", "password": ADMIN_PASSWORD}).get_json()["token"]
    alice_id = api.get("/admin/users?q=alice", token=admin).get_json()["items"][0]["id"]
    assert api.post(f"/admin/users/{alice_id}/deactivate", token=admin).status_code == 200
    refused = alice.client.post("/oauth/token", data={"grant_type": "refresh_token",
                                                      "refresh_token": token["refresh_token"]}, auth=(client_id, secret))
    assert refused.status_code == 400
    with app.app_context():
        events = db.session.execute(db.select(AuditEvent.event, AuditEvent.detail, AuditEvent.user_id)).all()
    seen = {(e, (d or {}).get("reason")) for e, d, _u in events if e.startswith("oauth.")}
    assert {("oauth.client_created", None), ("oauth.consent_granted", None), ("oauth.authorized", None),
            ("oauth.tokens_revoked", "sessions_ended")} <= seen
    assert all(u == alice_id for e, _d, u in events if e in ("oauth.consent_granted", "oauth.authorized",
                                                            "oauth.tokens_revoked"))
