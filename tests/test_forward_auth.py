"""Forward-auth (issue 17): GET /auth/verify answers a reverse proxy from the browser session,
the sign-in brings the user back to the protected app, the cookie reaches the app hosts.

The browser here is Flask's test client on accounts.example.com (PUBLIC_URL's host); the
proxy's sub-request is a request to /auth/verify with the headers nginx, Traefik or Caddy
add. tests/cluster/test_forward_auth.py does the same through a real nginx and Chromium.
"""

import json
import re
from urllib.parse import quote

import pytest
from sqlalchemy import event

from authsvc import create_app
from authsvc.extensions import db, redis_client
from authsvc.models import User

from .support import create_admin

PASSWORD = "correct horse battery"
APP = "http://app.example.com/notes?id=7&view=full"
RULES = ("app.example.com=user; admin.tools.example.com=admin; pay.tools.example.com=user,fresh=10; "
         ".tools.example.com=user")
FWD = dict(SESSION_COOKIE_DOMAIN="example.com", FORWARD_AUTH_DOMAINS="app.example.com,.tools.example.com",
           FORWARD_AUTH_RULES=RULES, CAPTCHA_ENABLED=False, RESEND_COOLDOWN=0,
           SEND_LIMIT_PER_EMAIL="50 per 5 minutes", SEND_LIMIT_PER_IP="100 per hour")


@pytest.fixture
def service(make_service):
    return fwd_service(make_service)


def fwd_service(make_service, **overrides):
    service = make_service(**{**FWD, **overrides})
    client = service.browser.client
    plain_open = client.open

    def open_on_our_host(*args, **kwargs):  # the browser is on PUBLIC_URL's host, not localhost
        kwargs.setdefault("base_url", "http://accounts.example.com")
        return plain_open(*args, **kwargs)

    client.open = open_on_our_host
    return service


def verify(client, url=APP, **headers):
    return client.get("/auth/verify", headers={"X-Original-URL": url, **headers} if url else headers)


def sign_in(service, login="alice", password=PASSWORD, next_url=APP):
    page = f"/login?next={quote(next_url, safe='')}" if next_url is not None else "/login"
    return service.browser.submit("/login", {"login": login, "password": password, "next": next_url or ""},
                                  page=page)


def test_signed_out_is_401_with_the_way_to_sign_in_and_back(service):
    answer = verify(service.browser.client)
    assert answer.status_code == 401
    assert answer.headers["Location"] == "https://accounts.example.com/login?next=" + quote(APP, safe="")
    assert "Remote-User" not in answer.headers
    # Traefik and Caddy pass a refusal on as it is: ?redirect=1 makes it the redirect itself
    answer = service.browser.client.get("/auth/verify?redirect=1", headers={"X-Original-URL": APP})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(quote(APP, safe=""))


def test_password_sign_in_lands_back_on_the_app_which_then_gets_the_identity(service):
    service.register_user()
    page = service.browser.get(f"/login?next={quote(APP, safe='')}").get_data(as_text=True)
    assert f'value="{APP.replace("&", "&amp;")}"' in page  # the form carries the way back
    assert '<p id="return-to">登录后将返回 app.example.com。</p>' in page  # and says where it leads
    answer = sign_in(service)
    assert answer.status_code == 302 and answer.headers["Location"] == APP
    # the browser checks a form's redirect against form-action: the app hosts are listed there
    assert ("form-action 'self' http://app.example.com:* https://app.example.com:* "
            "http://*.tools.example.com:* https://*.tools.example.com:*;") in answer.headers["Content-Security-Policy"]
    answer = verify(service.browser.client)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["Remote-User"] == "alice" and answer.headers["Remote-Name"] == "alice"
    assert answer.headers["Remote-Email"] == "alice@example.com"
    assert answer.headers["Remote-Groups"] == "users"
    assert answer.headers["Cache-Control"] == "no-store"
    # Traefik / Caddy headers name the same URL
    answer = service.browser.client.get("/auth/verify", headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com", "X-Forwarded-Uri": "/x"})
    assert answer.status_code == 200 and answer.headers["Remote-User"] == "alice"


def test_the_cookie_reaches_the_app_hosts_and_nothing_else(service):
    service.register_user()
    sign_in(service)
    set_cookie = [c for c in service.browser.client._cookies.values() if c.key == "authsvc_session"]
    assert [c.domain for c in set_cookie] == ["example.com"]
    assert set_cookie[0]._matches_request("app.example.com", "/")
    assert not set_cookie[0]._matches_request("example.org", "/")


@pytest.mark.parametrize("target", [
    "http://evil.example.org/",
    "https://evil.example.org/",
    "http://app.example.com.evil.org/",
    "http://app.example.com@evil.example.org/",
    "http://evil.example.org\\@app.example.com/",
    "//evil.example.org/",
    "javascript:alert(1)//app.example.com",
    "http://example.com/",  # the cookie's parent domain is not a protected host
    "ftp://app.example.com/",
])
def test_next_to_any_other_host_lands_on_the_account_page(service, target):
    service.register_user()
    answer = sign_in(service, next_url=target)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/account"


def test_subdomain_form_allows_any_subdomain(service):
    service.register_user()
    answer = sign_in(service, next_url="http://wiki.tools.example.com/page")
    assert answer.headers["Location"] == "http://wiki.tools.example.com/page"


def test_code_sign_in_honours_next(service):
    service.register_user()
    client = service.browser.client
    login_page = client.get(f"/login?next={quote(APP, safe='')}").get_data(as_text=True)
    code_link = re.search(r'href="(/login/code\?next=[^"]+)"', login_page).group(1).replace("&amp;", "&")
    answer = service.browser.submit(code_link, {"email": "alice@example.com"})  # the form posts to its page
    assert answer.status_code == 302
    code = service.mailbox.code("alice@example.com")
    answer = service.browser.submit("/login/code/verify", {"code": code})
    assert answer.status_code == 302 and answer.headers["Location"] == APP
    assert verify(client).headers["Remote-User"] == "alice"


def test_second_step_honours_next(make_service):
    service = fwd_service(make_service, LOGIN_SECOND_FACTOR="always")
    service.register_user()
    answer = sign_in(service)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login/verify")
    assert verify(service.browser.client).status_code == 401  # half-way is not signed in
    answer = service.browser.submit("/login/verify", {"code": service.mailbox.code("alice@example.com")})
    assert answer.status_code == 302 and answer.headers["Location"] == APP
    assert verify(service.browser.client).status_code == 200


def test_admin_host_refuses_a_user_and_admits_an_admin(service, make_service):
    service.register_user()
    sign_in(service)
    answer = verify(service.browser.client, "http://admin.tools.example.com/")
    assert answer.status_code == 403 and "Remote-User" not in answer.headers
    admin = fwd_service(make_service)
    create_admin(admin.app)
    sign_in(admin, login="boss", password="the admin passphrase")
    answer = verify(admin.browser.client, "http://admin.tools.example.com/")
    assert answer.status_code == 200 and answer.headers["Remote-Groups"] == "users,admins"


def test_a_host_no_rule_names_is_refused_even_signed_in(service):
    service.register_user()
    sign_in(service)
    assert verify(service.browser.client, "http://other.example.com/").status_code == 403
    assert verify(service.browser.client, None).status_code == 403  # no original URL at all


def test_fresh_host_asks_a_code_only_session_for_the_password_and_comes_back(service):
    service.register_user()
    client = service.browser.client
    pay = "http://pay.tools.example.com/transfer"
    service.browser.submit("/login/code", {"email": "alice@example.com"})
    service.browser.submit("/login/code/verify", {"code": service.mailbox.code("alice@example.com")})
    assert verify(client).status_code == 200  # an ordinary host takes a code-only session
    answer = verify(client, pay)
    assert answer.status_code == 401  # ... this one wants the password within 10 minutes
    # the proxy sends the browser to the sign-in page, which asks for the password (no loop)
    answer = client.get(answer.headers["Location"].replace("https://accounts.example.com", ""))
    assert answer.status_code == 302 and "/account/confirm-password?next=" in answer.headers["Location"]
    confirm = answer.headers["Location"]
    answer = service.browser.submit(confirm, {"password": PASSWORD, "next": pay}, page=confirm)
    assert answer.status_code == 302 and answer.headers["Location"] == pay
    assert verify(client, pay).status_code == 200


def test_a_password_sign_in_is_fresh_until_the_minutes_pass(service):
    service.register_user()
    sign_in(service)
    pay = "http://pay.tools.example.com/"
    assert verify(service.browser.client, pay).status_code == 200
    with service.app.app_context():  # eleven minutes later
        (key,) = [k for k in redis_client.scan_iter("authsvc:sess:*") if b'"fwd"' in redis_client.get(k)]
        record = json.loads(redis_client.get(key))
        record["data"]["strong_at"] -= 11 * 60
        redis_client.set(key, json.dumps(record), keepttl=True)
    assert verify(service.browser.client, pay).status_code == 401


def test_forged_and_ended_cookies_are_refused(service):
    service.register_user()
    client = service.browser.client
    client.set_cookie("authsvc_session", "A" * 43, domain="example.com")
    assert verify(client).status_code == 401
    sign_in(service)
    old = [c.value for c in client._cookies.values() if c.key == "authsvc_session"][0]
    assert verify(client).status_code == 200
    service.browser.submit("/logout", {}, page="/account")
    client.set_cookie("authsvc_session", old, domain="example.com")  # a copy kept by a thief
    assert verify(client).status_code == 401


def test_deactivation_and_password_change_end_the_app_sessions(service, make_service):
    service.register_user()
    sign_in(service)
    other = fwd_service(make_service)
    sign_in(other)
    assert verify(other.browser.client).status_code == 200
    page = service.browser.submit("/account/password", {
        "current_password": PASSWORD, "new_password": "a new passphrase here",
        "confirm": "a new passphrase here"})
    assert page.status_code == 302
    assert verify(other.browser.client).status_code == 401  # the other device: signed out
    assert verify(service.browser.client).status_code == 200  # this one carries on
    create_admin(service.app)  # an admin deactivates her account over the API
    admin = service.api.post("/sessions", json={"login": "boss", "password": "the admin passphrase"})
    with service.app.app_context():
        alice_id = db.session.execute(db.select(User.id).filter_by(username="alice")).scalar_one()
    done = service.api.post(f"/admin/users/{alice_id}/deactivate", token=admin.get_json()["token"])
    assert done.status_code == 200, done.get_json()
    assert verify(service.browser.client).status_code == 401


def test_email_change_and_promotion_reach_the_other_sessions_at_once(service, make_service):
    service.register_user()
    sign_in(service)
    other = fwd_service(make_service)
    sign_in(other)
    service.browser.submit("/account/email", {"password": PASSWORD, "new_email": "alice@new.example.net"})
    answer = service.browser.submit("/account/email/verify", {"code": service.mailbox.code("alice@new.example.net")})
    assert answer.status_code == 302
    assert verify(other.browser.client).headers["Remote-Email"] == "alice@new.example.net"
    assert verify(service.browser.client).headers["Remote-Email"] == "alice@new.example.net"
    create_admin(service.app, email="alice@new.example.net", username="alice")  # promotes her
    assert verify(other.browser.client).headers["Remote-Groups"] == "users,admins"


def test_the_check_is_one_redis_read_and_no_sql(service):
    service.register_user()
    sign_in(service)
    client = service.browser.client
    assert verify(client).status_code == 200  # warm: the first request of a process loads things
    statements = []
    with service.app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with service.app.app_context():
            before = _command_counts()
            for _ in range(5):
                answer = verify(client)
                assert answer.status_code == 200
            after = _command_counts()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert statements == []
    used = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    used.pop("info", None)  # our own INFO call
    assert used == {"get": 5}


def _command_counts():
    stats = redis_client.info("commandstats")
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


@pytest.mark.parametrize("settings, message", [
    (dict(FORWARD_AUTH_RULES="app.example.com=user"), "not in FORWARD_AUTH_DOMAINS"),
    (dict(FORWARD_AUTH_DOMAINS="app.example.com"), "needs SESSION_COOKIE_DOMAIN"),
    (dict(SESSION_COOKIE_DOMAIN="example.org"), "does not cover accounts.example.com"),
    (dict(SESSION_COOKIE_DOMAIN="example.com", FORWARD_AUTH_DOMAINS="app.example.org"), "does not cover app.example.org"),
    (dict(FWD, FORWARD_AUTH_RULES="app.example.com=root"), "user or admin"),
    (dict(FWD, FORWARD_AUTH_RULES="app.example.com=user,fresh=0"), "fresh=MINUTES"),
    (dict(FWD, FORWARD_AUTH_RULES="app.example.com"), "HOST=user"),
    (dict(FWD, FORWARD_AUTH_RULES="app.example.com=user;app.example.com=admin"), "twice"),
    (dict(FWD, FORWARD_AUTH_DOMAINS="app example com"), "not a host name"),
])
def test_a_wrong_setting_stops_the_start_with_a_clear_message(base_config, settings, message):
    with pytest.raises(RuntimeError, match=message):
        create_app(dict(base_config, **settings))


def test_cookie_name_follows_the_domain_setting(base_config):
    secure = dict(base_config, SESSION_COOKIE_SECURE=True)
    assert create_app(secure).config["SESSION_COOKIE_NAME"] == "__Host-authsvc_session"
    app = create_app(dict(secure, **FWD))
    assert app.config["SESSION_COOKIE_NAME"] == "__Secure-authsvc_session"
    assert app.config["SESSION_COOKIE_DOMAIN"] == "example.com"


def test_a_secure_domain_cookie_is_set_with_its_domain(make_service):
    service = fwd_service(make_service, SESSION_COOKIE_SECURE=True)
    answer = service.browser.client.get("/login", base_url="https://accounts.example.com")
    (cookie,) = answer.headers.getlist("Set-Cookie")
    assert cookie.startswith("__Secure-authsvc_session=")
    assert "Domain=example.com" in cookie and "Secure" in cookie and "HttpOnly" in cookie


def test_redis_down_is_503_never_a_yes(make_service, tmp_path):
    from .support import RedisServer

    own = RedisServer(tmp_path).start()
    try:
        service = fwd_service(make_service, REDIS_URL=own.url, RATELIMIT_STORAGE_URI=None)
        service.register_user()
        sign_in(service)
        assert verify(service.browser.client).status_code == 200
        own.stop()
        answer = verify(service.browser.client)
        assert answer.status_code == 503 and "Remote-User" not in answer.headers
    finally:
        own.stop()


def test_using_the_app_keeps_the_session_alive(service):
    """The proxy's checks count as use: an app used for longer than the idle timeout does not
    sign its user out (the record's life is renewed at most once a minute, by one write)."""
    service.register_user()
    sign_in(service)
    with service.app.app_context():
        (key,) = [k for k in redis_client.scan_iter("authsvc:sess:*") if b'"fwd"' in redis_client.get(k)]
        record = json.loads(redis_client.get(key))
        record["meta"]["last_seen"] -= 120  # two minutes without a request
        redis_client.set(key, json.dumps(record), ex=30)  # and about to expire
        assert verify(service.browser.client).status_code == 200
        assert redis_client.ttl(key) > 1000  # SESSION_IDLE_TIMEOUT again (1800 s)


def test_an_expired_session_is_refused(service):
    """Past SESSION_ABSOLUTE_TIMEOUT (12 h) the record is refused and deleted, as on authsvc's pages;
    past the idle timeout Redis has dropped it."""
    service.register_user()
    sign_in(service)
    with service.app.app_context():
        (key,) = [k for k in redis_client.scan_iter("authsvc:sess:*") if b'"fwd"' in redis_client.get(k)]
        record = json.loads(redis_client.get(key))
        record["meta"]["created"] -= 12 * 3600 + 1
        redis_client.set(key, json.dumps(record), keepttl=True)
        assert verify(service.browser.client).status_code == 401
        assert redis_client.get(key) is None
    sign_in(service)
    with service.app.app_context():
        (key,) = [k for k in redis_client.scan_iter("authsvc:sess:*") if b'"fwd"' in redis_client.get(k)]
        redis_client.delete(key)  # what the idle timeout's expiry does
    assert verify(service.browser.client).status_code == 401


def test_the_most_specific_rule_wins():
    from authsvc import forward_rules

    policy = forward_rules.parse({
        "FORWARD_AUTH_DOMAINS": ".example.com", "SESSION_COOKIE_DOMAIN": "example.com",
        "PUBLIC_URL": "https://accounts.example.com",
        "FORWARD_AUTH_RULES": "*=user; .example.com=user,fresh=60; .ops.example.com=admin; db.ops.example.com=user",
    }, "production")
    assert policy.rule_for("db.ops.example.com").level == "user"  # exact
    assert policy.rule_for("grafana.ops.example.com").admin  # the longest suffix
    assert policy.rule_for("wiki.example.com").fresh_minutes == 60
    assert policy.rule_for("elsewhere.org").pattern == "*"
    assert policy.rule_for("") is None
    assert policy.allows_return("https://wiki.example.com:8443/x")
    assert not policy.allows_return("http://wiki.example.com/")  # production: https only
    assert not policy.allows_return("https://example.com/")  # ".example.com" names subdomains only
