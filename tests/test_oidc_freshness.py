"""How fresh the sign-in behind an ID token is: `auth_time` is when this browser session signed
in (not the account's last sign-in on some other device), and an app that asks for a fresh one
(`prompt=login`, `max_age`) gets the person to confirm it's them before a code is issued."""

import time
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

from .support import csrf_from
from .test_oidc import APP_CB, PASSWORD, make_client, pkce


def signed_in_browser(service):
    client = service.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    answer = client.post("/login", data={"login": "alice", "password": PASSWORD, "csrf_token": csrf_from(page)})
    assert answer.status_code == 302
    return client


def authorize(client, client_id, **extra):
    verifier, challenge = pkce()
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": APP_CB, "scope": "openid",
             "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    return client.get("/oauth/authorize", query_string=query), verifier


def id_token_claims(service, client, client_id, secret, location, verifier):
    code = parse_qs(urlsplit(location).query)["code"][0]
    answer = client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                               "redirect_uri": APP_CB, "code_verifier": verifier},
                         auth=(client_id, secret))
    assert answer.status_code == 200, answer.get_json()
    keys = KeySet.import_key_set(client.get("/oauth/jwks").get_json())
    return jwt.decode(answer.get_json()["id_token"], keys).claims


def test_auth_time_is_this_sessions_sign_in_not_a_later_one_elsewhere(make_service):
    service = make_service()
    service.register_user()
    client_id, secret = make_client(service.app, "--trusted")
    laptop = signed_in_browser(service)
    signed_in_at = time.time()
    time.sleep(2.1)
    signed_in_browser(service)  # the phone signs in later: the account's last sign-in moves on
    answer, verifier = authorize(laptop, client_id)
    claims = id_token_claims(service, laptop, client_id, secret, answer.headers["Location"], verifier)
    assert abs(claims["auth_time"] - signed_in_at) < 1.5


def test_prompt_login_asks_to_confirm_then_issues_the_code(make_service):
    service = make_service()
    service.register_user()
    client_id, secret = make_client(service.app, "--trusted")
    browser = signed_in_browser(service)
    time.sleep(1.1)
    asked, verifier = authorize(browser, client_id, prompt="login", state="s1")
    location = asked.headers["Location"]
    assert asked.status_code == 302 and "/account/confirm-password" in location and "code=" not in location
    page = browser.get(location).get_data(as_text=True)
    confirmed_at = time.time()
    back = browser.post(location, data={"password": PASSWORD, "csrf_token": csrf_from(page)})
    assert back.status_code == 302 and "/oauth/authorize" in back.headers["Location"]
    assert "prompt=login" not in back.headers["Location"]  # asked once, answered: no loop
    issued = browser.get(back.headers["Location"])
    assert issued.headers["Location"].startswith(APP_CB) and "state=s1" in issued.headers["Location"]
    claims = id_token_claims(service, browser, client_id, secret, issued.headers["Location"], verifier)
    assert claims["auth_time"] >= int(confirmed_at) - 1


def test_max_age_passed_asks_to_confirm_and_a_recent_sign_in_does_not(make_service):
    service = make_service()
    service.register_user()
    client_id, _secret = make_client(service.app, "--trusted")
    browser = signed_in_browser(service)
    fresh, _verifier = authorize(browser, client_id, max_age="3600")
    assert fresh.headers["Location"].startswith(APP_CB) and "code=" in fresh.headers["Location"]
    time.sleep(2.1)
    stale, _verifier = authorize(browser, client_id, max_age="1")
    assert "/account/confirm-password" in stale.headers["Location"]
    # an app that wants no page at all is told a sign-in is needed
    silent, _verifier = authorize(browser, client_id, max_age="1", prompt="none", state="s2")
    query = parse_qs(urlsplit(silent.headers["Location"]).query)
    assert silent.headers["Location"].startswith(APP_CB) and query["error"] == ["login_required"]
    assert query["state"] == ["s2"]


def test_a_max_age_that_is_not_a_number_goes_back_to_the_app_as_invalid_request(make_service):
    service = make_service()
    service.register_user()
    client_id, _secret = make_client(service.app, "--trusted")
    answer, _verifier = authorize(signed_in_browser(service), client_id, max_age="soon", state="s3")
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert answer.headers["Location"].startswith(APP_CB) and query["error"] == ["invalid_request"]
    assert query["state"] == ["s3"]
