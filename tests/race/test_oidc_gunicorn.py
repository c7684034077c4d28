"""The OpenID Connect provider served by gunicorn, over real HTTP: Authlib's own client runs the
whole flow, and parallel uses of one code or one refresh token let exactly one through."""

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from ..test_oidc import APP_CB, make_client
from .harness import PASSWORD, Gunicorn, fire, register, report

pytestmark = pytest.mark.slow
ISSUER = "https://accounts.example.com"


@pytest.fixture(scope="module")
def server(redis_url, database_url, migrated, smtp_server, tmp_path_factory):
    """One gunicorn for the module, given time to boot on a loaded machine."""
    started = Gunicorn(tmp_path_factory.mktemp("oidc-gunicorn"), redis_url, database_url, smtp_server.port)
    try:
        yield started.start(timeout=300)
    finally:
        started.stop()


def signed_in_browser(server, client_for, state):
    register(client_for(server), state.mailbox, "alice@example.com", "alice")
    browser = requests.Session()
    page = browser.get(f"{server.url}/login").text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    answer = browser.post(f"{server.url}/login", data={"csrf_token": csrf, "login": "alice", "password": PASSWORD},
                          allow_redirects=False)
    assert answer.status_code == 302, answer.text[:500]
    return browser


def authorize(server, browser, query):
    answer = browser.get(f"{server.url}/oauth/authorize", params=query, allow_redirects=False)
    if answer.status_code == 200:  # the consent page
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', answer.text).group(1)
        answer = browser.post(answer.url, data={"csrf_token": csrf, "decision": "allow"}, allow_redirects=False)
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["Location"]


def test_authlib_client_runs_the_flow_against_gunicorn(server, client_for, state, monkeypatch):
    from authlib.integrations.requests_client import OAuth2Session

    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test server speaks plain HTTP on localhost
    browser = signed_in_browser(server, client_for, state)
    client_id, secret = make_client(state.app)
    config = requests.get(f"{server.url}/.well-known/openid-configuration").json()
    local = lambda url: url.replace(ISSUER, server.url)  # noqa: E731 - PUBLIC_URL is the proxy's name
    app = OAuth2Session(client_id, secret, scope="openid profile email", redirect_uri=APP_CB,
                        code_challenge_method="S256")
    verifier = secrets.token_urlsafe(48)
    url, state_value = app.create_authorization_url(local(config["authorization_endpoint"]),
                                                    code_verifier=verifier, nonce="n-42")
    callback = authorize(server, browser, dict(parse_qs(urlsplit(url).query, keep_blank_values=True)))
    assert parse_qs(urlsplit(callback).query)["state"] == [state_value]
    token = app.fetch_token(local(config["token_endpoint"]), authorization_response=callback, code_verifier=verifier)

    keys = KeySet.import_key_set(requests.get(local(config["jwks_uri"])).json())
    claims = jwt.decode(token["id_token"], keys).claims
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER}, aud={"essential": True, "value": client_id},
                          nonce={"essential": True, "value": "n-42"}, exp={"essential": True}).validate(claims)
    assert app.get(local(config["userinfo_endpoint"])).json()["preferred_username"] == "alice"
    old = token["refresh_token"]
    app.refresh_token(local(config["token_endpoint"]), refresh_token=old)
    again = requests.post(local(config["token_endpoint"]), data={"grant_type": "refresh_token", "refresh_token": old},
                          auth=(client_id, secret))
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def _challenge():
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_one_code_or_refresh_token_used_at_once_lets_exactly_one_through(server, client_for, state):
    browser = signed_in_browser(server, client_for, state)
    client_id, secret = make_client(state.app, "--trusted")
    verifier, challenge = _challenge()
    callback = authorize(server, browser, {"response_type": "code", "client_id": client_id, "redirect_uri": APP_CB,
                                           "scope": "openid", "code_challenge": challenge,
                                           "code_challenge_method": "S256"})
    code = parse_qs(urlsplit(callback).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": APP_CB, "code_verifier": verifier}

    def redeem(i, client, ctx):
        return client.session.post(f"{server.url}/oauth/token", data=form, auth=(client_id, secret), timeout=60)

    answers = fire(server.url, 8, None, redeem)
    counts = tally_http(answers)
    assert counts.get(200) == 1 and counts.get(400) == 7, report("code redeemed 8 times at once", counts)
    # the 7 replays revoked what the code gave (RFC 6749 §4.1.2), even while it was being saved
    first = next(a for a in answers if a.status_code == 200).json()
    assert requests.get(f"{server.url}/oauth/userinfo",
                        headers={"Authorization": f"Bearer {first['access_token']}"}).status_code == 401
    assert requests.post(f"{server.url}/oauth/token", auth=(client_id, secret), data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]}).status_code == 400

    callback = authorize(server, browser, {"response_type": "code", "client_id": client_id, "redirect_uri": APP_CB,
                                           "scope": "openid", "code_challenge": challenge,
                                           "code_challenge_method": "S256"})
    once = requests.post(f"{server.url}/oauth/token", auth=(client_id, secret),
                         data=dict(form, code=parse_qs(urlsplit(callback).query)["code"][0]))
    refresh = once.json()["refresh_token"]

    def refresh_once(i, client, ctx):
        return client.session.post(f"{server.url}/oauth/token", data={"grant_type": "refresh_token",
                                   "refresh_token": refresh}, auth=(client_id, secret), timeout=60)

    answers = fire(server.url, 8, None, refresh_once)
    counts = tally_http(answers)
    assert counts.get(200) == 1 and counts.get(400) == 7, report("refresh token used 8 times at once", counts)
    # the 7 reuses revoked the family: the winner's new refresh token is dead too
    winner = next(a for a in answers if a.status_code == 200).json()["refresh_token"]
    late = requests.post(f"{server.url}/oauth/token", data={"grant_type": "refresh_token", "refresh_token": winner},
                         auth=(client_id, secret))
    assert late.status_code == 400


def tally_http(answers):
    counts = {}
    for answer in answers:
        counts[answer.status_code] = counts.get(answer.status_code, 0) + 1
    return counts
