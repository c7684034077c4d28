"""SECURITY.md items 24-29: cookies, server-side sessions, fixation, CSRF, redirects, headers.

These use the Flask test client; tests/browser/ (Playwright) checks 24, 27 and 29 again in a
real Chromium.
"""

import hashlib
import re
from http.cookies import SimpleCookie

from authsvc.config import from_environment
from authsvc.extensions import db
from authsvc.models import InviteCode
from authsvc.services import mail

from .helpers import (ADMIN_PASSWORD, COOKIE, NEW_PASSWORD, PASSWORD, PRODUCTION, Api_for, Browser_for,
                      api_login, audit_events, create_admin, csrf_of, decodings, force_codes, get_user,
                      lands_off_site, record_responses, signed_in, user_rows, web_login)


def _set_cookies(responses):
    """Every cookie set (not deleted) by the responses, parsed: [(name, value, attributes)]."""
    found = []
    for response in responses:
        for header in response.headers.getlist("Set-Cookie"):
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                deleting = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                if not deleting:
                    found.append((name, morsel.value, header))
    return found


# --- item 24 --------------------------------------------------------------------------------
def test_item_24_production_cookies_are_secure_httponly_lax_and_carry_no_pii(make_service):
    service = make_service(**PRODUCTION, LOGIN_SECOND_FACTOR="new_device")
    browser, mailbox = service.browser, service.mailbox
    seen = record_responses(browser.client)
    browser.submit("/register", {"email": "alice@example.com", "username": "alice", "password": PASSWORD,
                                 "confirm": PASSWORD})
    browser.submit("/register/verify", {"code": mailbox.code("alice@example.com")})
    browser.submit("/logout", {}, page="/account")
    web_login(browser, remember="y")
    browser.submit("/login/verify", {"code": mailbox.code("alice@example.com")})
    browser.submit("/lang/en", {"next": "/account"}, page="/account")
    assert signed_in(browser)
    cookies = _set_cookies(seen)
    # in production the session cookie carries the __Host- prefix: HTTPS, this host, path "/"
    assert {name for name, _v, _h in cookies} >= {"__Host-" + COOKIE, "authsvc_device", "lang"}
    for name, value, header in cookies:
        attributes = [a.strip().lower() for a in header.split(";")[1:]]
        if name.startswith("__Host-"):
            assert "path=/" in attributes and not any(a.startswith("domain=") for a in attributes), header
        assert "secure" in attributes, header
        assert "httponly" in attributes, header
        assert "samesite=lax" in attributes, header
        for form in decodings(value):
            for personal in ("alice", "example.com"):
                assert personal not in form.lower(), (name, form)


def test_item_24_the_default_is_secure_everywhere_but_development(base_config, tmp_path):
    from authsvc import create_app

    production = create_app(dict(base_config, **PRODUCTION))
    assert production.config["SESSION_COOKIE_SECURE"] is True
    development = create_app(dict(base_config, AUTHSVC_ENV="development", SECRET_KEY=None, CAPTCHA_FIXED_TEXT=None,
                                  INSTANCE_PATH=str(tmp_path)))
    assert development.config["SESSION_COOKIE_SECURE"] is False  # plain http on a laptop
    for app in (production, development):
        assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


# --- item 25 --------------------------------------------------------------------------------
def _session_key(browser):
    return "authsvc:sess:" + hashlib.sha256(browser.client.get_cookie(COOKIE).value.encode()).hexdigest()


def test_item_25_sessions_live_in_redis_with_the_configured_timeouts(app, browser, register_user):
    defaults = from_environment({})
    assert (defaults["SESSION_IDLE_TIMEOUT"], defaults["SESSION_ABSOLUTE_TIMEOUT"]) == (1800, 43200)
    register_user()
    redis = app.extensions["authsvc.redis"]
    web_login(browser)
    assert browser.client.get_cookie(COOKIE).expires is None  # a browser-session cookie
    assert 1790 <= redis.ttl(_session_key(browser)) <= 1800
    # the cookie is only a pointer: without the server-side record it is worthless
    redis.delete(_session_key(browser))
    assert not signed_in(browser)


def test_item_25_remember_me_is_optional_bounded_and_revocable(app, register_user):
    register_user()
    redis = app.extensions["authsvc.redis"]
    laptop, phone = Browser_for(app), Browser_for(app)
    web_login(laptop, remember="y")
    cookie = laptop.client.get_cookie(COOKIE)
    assert cookie.expires is not None
    assert 29 * 86400 < redis.ttl(_session_key(laptop)) <= 30 * 86400  # REMEMBER_ME_DAYS
    web_login(phone)
    page = phone.get("/account").get_data(as_text=True)
    ids = re.findall(r"/account/sessions/([0-9a-f]{16})/end", page)
    remembered = hashlib.sha256(cookie.value.encode()).hexdigest()[:16]
    assert remembered in ids
    ended = phone.client.post(f"/account/sessions/{remembered}/end", data={"csrf_token": csrf_of(phone, "/account")})
    assert ended.status_code == 302
    assert not signed_in(laptop) and signed_in(phone)
    # and a password change ends remembered sessions too
    web_login(laptop, remember="y")
    phone.submit("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                       "confirm": NEW_PASSWORD})
    assert not signed_in(laptop) and signed_in(phone)


# --- item 26 --------------------------------------------------------------------------------
def _plant(app):
    """An attacker's pre-sign-in session id, planted in the victim's browser."""
    attacker = Browser_for(app)
    attacker.get("/login")
    sid = attacker.client.get_cookie(COOKIE).value
    victim = Browser_for(app)
    victim.client.set_cookie(COOKIE, sid)
    return attacker, victim, sid


def test_item_26_no_way_in_keeps_a_planted_session_id(make_service, monkeypatch):
    service = make_service(LOGIN_SECOND_FACTOR="always", AUTO_LOGIN_AFTER_RESET=True, RESEND_COOLDOWN=0,
                           SEND_LIMIT_PER_EMAIL="20 per hour")
    app = service.app
    force_codes(monkeypatch, 101010)

    def registration(victim):
        victim.submit("/register", {"email": "alice@example.com", "username": "alice", "password": PASSWORD,
                                    "confirm": PASSWORD}, captcha=True)
        return victim.submit("/register/verify", {"code": "101010"})

    def code_login(victim):  # + the password: the second step after a code
        victim.submit("/login/code", {"email": "alice@example.com"}, captcha=True)
        victim.submit("/login/code/verify", {"code": "101010"})
        return victim.submit("/login/verify", {"password": PASSWORD})

    def password_and_second_step(victim):
        web_login(victim)
        return victim.submit("/login/verify", {"code": "101010"})

    def reset_with_auto_sign_in(victim):
        victim.submit("/reset", {"email": "alice@example.com"}, captcha=True)
        return victim.submit("/reset/verify", {"code": "101010", "new_password": PASSWORD + " x",
                                               "confirm": PASSWORD + " x"})

    for way_in in (registration, code_login, password_and_second_step, reset_with_auto_sign_in):
        attacker, victim, sid = _plant(app)
        done = way_in(victim)
        assert done.status_code == 302 and done.headers["Location"].endswith("/account"), way_in.__name__
        assert signed_in(victim), way_in.__name__
        assert victim.client.get_cookie(COOKIE).value != sid, way_in.__name__
        assert not signed_in(attacker), way_in.__name__
        if way_in is reset_with_auto_sign_in:
            break
        victim.submit("/logout", {}, page="/account")


# --- item 27 --------------------------------------------------------------------------------
CSRF_EXEMPT = {"account.unsubscribe",  # RFC 8058 one-click unsubscribe: the signed URL is the credential
               # OAuth endpoints an app's server calls with its client credentials or a bearer token,
               # never with the browser's cookie (/oauth/token answers 400 to these bodies anyway)
               "oauth.revoke", "oauth.userinfo"}


def _html_rules(app, method):
    return [r for r in app.url_map.iter_rules()
            if method in r.methods and not r.rule.startswith("/api/") and r.endpoint != "static"]


def _admin_world(make_service):
    service = make_service()
    app = service.app
    user, token = service.register_user()
    create_admin(app)
    admin = Browser_for(app)
    assert web_login(admin, "boss", ADMIN_PASSWORD).headers["Location"].endswith("/account")
    victim = Browser_for(app)
    web_login(victim)
    with app.app_context():
        db.session.add(InviteCode(code="KEEP-ME-ALIVE", all_cnt=3))
        db.session.commit()
        unsubscribe = mail.unsubscribe_url(get_user(app, username="alice")).rsplit("/", 1)[1]
    session_id = re.search(r"/account/sessions/([0-9a-f]{16})/end",
                           admin.get("/account").get_data(as_text=True)).group(1)
    values = {"user_id": user["id"], "action": "deactivate", "code": "KEEP-ME-ALIVE", "public_id": session_id,
              "token": unsubscribe, "block_id": "0123456789ab", "target": "203.0.113.0/24", "passkey_id": 1,
              "client_id": "no-such-client"}
    return service, admin, victim, token, values


def _snapshot(app, victim, api, token):
    with app.app_context():
        invites = [(i.code, i.disabled, i.used_cnt) for i in db.session.execute(db.select(InviteCode)).scalars()]
    return (user_rows(app), invites, signed_in(victim), api.get("/me", token=token).status_code)


def test_item_27_every_state_changing_html_post_needs_a_valid_csrf_token(make_service):
    service, admin, victim, token, values = _admin_world(make_service)
    app, api = service.app, Api_for(service.app)
    before = _snapshot(app, victim, api, token)
    foreign = csrf_of(Browser_for(app), "/login")  # a valid token, but of another session
    unprotected = set()
    rules = _html_rules(app, "POST")
    assert len(rules) >= 15
    for rule in rules:
        # (the exempt unsubscribe link is posted with a made-up token: a valid one would really unsubscribe)
        path = rule.build(dict(values, token="made-up"), append_unknown=False)[1]
        for data in ({}, {"csrf_token": foreign}, {"csrf_token": "forged"}):
            response = admin.client.post(path, data=data)
            if response.status_code != 400:
                unprotected.add(rule.endpoint)
    assert unprotected == CSRF_EXEMPT
    assert _snapshot(app, victim, api, token) == before  # nothing changed...
    assert signed_in(admin)  # ...not even a sign-out
    assert admin.client.get_cookie("lang") is None
    # the exempt one-click unsubscribe does nothing without a valid signed link
    tampered = admin.client.post(f"/notifications/unsubscribe/{values['token'][:-2]}xx")
    assert tampered.status_code == 404 and get_user(app, username="alice").notify_new_device


def test_item_27_get_requests_change_nothing(make_service):
    service, admin, victim, token, values = _admin_world(make_service)
    app, api = service.app, Api_for(service.app)
    admin_api = api_login(api, "boss", ADMIN_PASSWORD).get_json()["token"]
    before = _snapshot(app, victim, api, token)
    events_before = len(audit_events(app))
    for rule in _html_rules(app, "GET"):
        path = rule.build(values, append_unknown=False)[1]
        assert admin.client.get(path).status_code < 500, path
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and "GET" in rule.methods:
            api.get(rule.build(values, append_unknown=False)[1][len("/api/v1"):], token=admin_api)
    get_paths = {r.rule for r in _html_rules(app, "GET")}
    post_only = [r for r in _html_rules(app, "POST") if r.rule not in get_paths]  # a URL no GET serves
    for rule in post_only:
        assert admin.client.get(rule.build(values, append_unknown=False)[1]).status_code == 405, rule.rule
    assert _snapshot(app, victim, api, token) == before
    assert signed_in(admin)
    assert len(audit_events(app)) == events_before
    # the unsubscribe link: GET shows a button; only the POST unsubscribes
    assert get_user(app, username="alice").notify_new_device
    assert admin.client.post(f"/notifications/unsubscribe/{values['token']}").status_code == 200
    assert not get_user(app, username="alice").notify_new_device


# --- item 28 --------------------------------------------------------------------------------
EVIL = ["//evil.example", "///evil.example", "////evil.example/x", "https://evil.example/", "http:evil.example",
        "https:/evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example", "/\\/evil.example",
        " //evil.example", "//localhost@evil.example", "javascript:alert(1)", "data:text/html,x",
        "/%2F%2Fevil.example", "%2F%2Fevil.example", "/\r\n//evil.example"]


def test_item_28_next_never_leaves_the_site(make_service, monkeypatch):
    service = make_service(LOGIN_CAPTCHA="never", CAPTCHA_ENABLED=False, RESEND_COOLDOWN=0,
                           SEND_LIMIT_PER_EMAIL="500 per hour", SEND_LIMIT_PER_IP="500 per hour",
                           LOGIN_LIMIT_PER_IP="1000 per minute")
    service.register_user()
    app = service.app
    force_codes(monkeypatch, 424242)
    offsite = []

    def check(where, target, response):
        location = response.headers.get("Location", "")
        if response.status_code in (301, 302, 303, 307, 308) and lands_off_site(location):
            offsite.append((where, target, location))

    for target in EVIL + ["/account/password"]:
        browser = Browser_for(app)
        check("login form", target, browser.submit("/login", {"login": "alice", "password": PASSWORD,
                                                              "next": target}))
        check("signed-in /login", target, browser.client.get("/login", query_string={"next": target}))
        check("/lang", target, browser.client.post("/lang/en", data={"next": target,
                                                                     "csrf_token": csrf_of(browser, "/account")}))
        check("confirm password", target, browser.submit("/account/confirm-password",
                                                         {"password": PASSWORD, "next": target}))
        coder = Browser_for(app)
        coder.client.get("/login/code", query_string={"next": target})
        coder.client.post("/login/code", query_string={"next": target}, data={
            "email": "alice@example.com", "csrf_token": csrf_of(coder, "/login/code")})
        check("code sign-in", target, coder.submit("/login/code/verify", {"code": "424242"}))
    assert not offsite, offsite
    # a local target is honoured (so the check above could have failed)
    browser = Browser_for(app)
    kept = browser.submit("/login", {"login": "alice", "password": PASSWORD, "next": "/account/password"})
    assert kept.headers["Location"].endswith("/account/password")


# --- item 29 --------------------------------------------------------------------------------
REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def test_item_29_security_headers_on_every_kind_of_response_in_production(make_service):
    service = make_service(**PRODUCTION, CAPTCHA_IMAGE_LIMIT="1 per minute")
    app = service.app

    @app.get("/boom-security-headers")
    def boom():
        raise RuntimeError("boom")

    client = app.test_client()
    responses = {
        "html page": client.get("/login"),
        "redirect": client.get("/"),
        "api json": client.get("/api/v1/me"),
        "api error": client.post("/api/v1/sessions", json={}),
        "not found": client.get("/no/such/page"),
        "wrong method": client.get("/lang/en"),
        "static": client.get("/static/css/app.css"),
        "image": client.get("/captcha.png"),
        "rate limited": client.get("/captcha.png"),
        "too large": client.post("/api/v1/sessions", data="x" * 70_000, content_type="application/json"),
        "server error": client.get("/boom-security-headers"),
        "health": client.get("/healthz"),
    }
    assert responses["rate limited"].status_code == 429 and responses["server error"].status_code == 500
    for kind, response in responses.items():
        headers = response.headers
        hsts = headers.get("Strict-Transport-Security", "")
        match = re.search(r"max-age=(\d+)", hsts)
        assert match and int(match.group(1)) >= 31_536_000, (kind, hsts)
        assert headers.get("X-Content-Type-Options") == "nosniff", kind
        assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), kind
        assert headers.get("Referrer-Policy") in REFERRER_POLICIES, kind
