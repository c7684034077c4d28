"""Browser sessions: server-side, rotated at sign-in, ended for real, timeouts, next, CSRF."""

import re
import time

from .support import Browser, csrf_from

PASSWORD = "correct horse battery"
COOKIE = "authsvc_session"


def sign_in(browser, name="alice", password=PASSWORD, headers=None, **fields):
    return browser.submit("/login", {"login": name, "password": password, **fields}, headers=headers)


def signed_in(browser):
    response = browser.get("/account")
    return response.status_code == 200


def test_sign_in_and_out(browser, register_user):
    register_user()
    response = sign_in(browser)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    assert signed_in(browser)
    out = browser.submit("/logout", {}, page="/account")
    assert out.status_code == 302
    assert not signed_in(browser)


def test_wrong_password_message_on_the_page(browser, register_user):
    register_user()
    response = sign_in(browser, password="not my password")
    assert response.status_code == 401
    assert "账号或密码错误" in response.get_data(as_text=True)


def test_login_and_logout_need_csrf(client, register_user):
    register_user()
    client.get("/login")
    assert client.post("/login", data={"login": "alice", "password": PASSWORD}).status_code == 400
    assert client.get("/logout").status_code == 200  # GET only shows a sign-out button


def test_session_id_is_rotated_at_sign_in(browser, register_user, app):
    register_user()
    browser.get("/login")
    before = browser.client.get_cookie(COOKIE).value
    sign_in(browser)
    after = browser.client.get_cookie(COOKIE).value
    assert before != after
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", after)
    # the pre-login id is gone server-side: replaying it does not sign anyone in
    browser.client.set_cookie(COOKIE, before)
    assert not signed_in(browser)
    # nothing personal in the cookie or under its own name in Redis
    redis = app.extensions["authsvc.redis"]
    assert not any(after in k.decode() for k in redis.scan_iter("*"))


def test_logout_ends_the_session_server_side(browser, register_user):
    register_user()
    sign_in(browser)
    stolen = browser.client.get_cookie(COOKIE).value
    browser.submit("/logout", {}, page="/account")
    thief = Browser(browser.client.application.test_client())
    thief.client.set_cookie(COOKIE, stolen)
    assert not signed_in(thief)


def test_password_change_ends_other_sessions_and_tokens(app, api, register_user):
    _user, token = register_user()
    mine, other = Browser(app.test_client()), Browser(app.test_client())
    sign_in(mine)
    sign_in(other)
    response = mine.submit("/account/password", {"current_password": PASSWORD,
                                                  "new_password": "a brand new passphrase",
                                                  "confirm": "a brand new passphrase"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert signed_in(mine)  # this session carries on
    assert not signed_in(other)
    assert api.get("/me", token=token).status_code == 401


def test_idle_timeout(make_service):
    service = make_service(SESSION_IDLE_TIMEOUT=1)
    service.register_user()
    sign_in(service.browser)
    time.sleep(2.1)
    assert not signed_in(service.browser)


def test_absolute_timeout(make_service):
    service = make_service(SESSION_ABSOLUTE_TIMEOUT=2)
    service.register_user()
    sign_in(service.browser)
    assert signed_in(service.browser)
    time.sleep(1.1)
    assert signed_in(service.browser)  # activity does not extend it past the absolute limit
    time.sleep(1.2)
    assert not signed_in(service.browser)


def test_next_only_to_local_paths(browser, register_user):
    register_user()
    for target in ("//evil.example", "https://evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        browser.client.delete_cookie(COOKIE)
        response = browser.submit(f"/login?next={target}", {"login": "alice", "password": PASSWORD,
                                                            "next": target})
        location = response.headers["Location"]
        assert location.endswith("/account") and "evil" not in location, target
    browser.client.delete_cookie(COOKIE)
    response = browser.submit("/login", {"login": "alice", "password": PASSWORD, "next": "/account/password"})
    assert response.headers["Location"].endswith("/account/password")


IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


def test_account_page_lists_and_ends_sessions(app, register_user):
    register_user()
    mine, other = Browser(app.test_client()), Browser(app.test_client())
    sign_in(mine)
    sign_in(other, headers={"User-Agent": IPHONE})
    page = mine.get("/account").get_data(as_text=True)
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)[1:]
    assert len(rows) == 3  # two browser sessions and the registration's API token
    iphone_row = next(r for r in rows if "Mobile Safari · iOS" in r)
    assert "当前会话" not in iphone_row
    assert sum("当前会话" in r for r in rows) == 1
    public_id = re.search(r"/account/sessions/([0-9a-f]{16})/end", iphone_row).group(1)
    ended = mine.client.post(f"/account/sessions/{public_id}/end", data={"csrf_token": csrf_from(page)})
    assert ended.status_code == 302
    assert not signed_in(other)
    assert signed_in(mine)


def test_remember_me_makes_the_cookie_persistent(browser, register_user):
    register_user()
    sign_in(browser)
    assert browser.client.get_cookie(COOKIE).expires is None  # ends with the browser
    browser.submit("/logout", {}, page="/account")
    sign_in(browser, remember="y")
    assert browser.client.get_cookie(COOKIE).expires is not None


def test_code_only_session_must_confirm_password(browser, register_user, mailbox):
    register_user()
    mailbox.server.clear()
    browser.submit("/login/code", {"email": "alice@example.com"}, captcha=True)
    done = browser.submit("/login/code/verify", {"code": mailbox.code("alice@example.com")})
    assert done.headers["Location"].endswith("/account")
    response = browser.get("/account/password")
    assert response.status_code == 302 and "/account/confirm-password" in response.headers["Location"]
    confirm = browser.submit(response.headers["Location"], {"password": PASSWORD,
                                                             "next": "/account/password"})
    assert confirm.headers["Location"].endswith("/account/password")
    assert browser.get("/account/password").status_code == 200


def test_second_factor_pages(make_service):
    service = make_service(LOGIN_SECOND_FACTOR="always")
    service.register_user()
    service.mailbox.server.clear()
    step = sign_in(service.browser)
    assert step.headers["Location"].endswith("/login/verify")
    assert not signed_in(service.browser)
    done = service.browser.submit("/login/verify", {"code": service.mailbox.code("alice@example.com")})
    assert done.headers["Location"].endswith("/account")
    assert signed_in(service.browser)
    assert service.browser.client.get_cookie("authsvc_device") is not None


def test_captcha_appears_on_the_page_after_failures(browser, register_user):
    register_user()
    for _ in range(3):
        sign_in(browser, password="not my password")
    page = browser.get("/login").get_data(as_text=True)
    assert 'src="/captcha.png"' in page
    blocked = sign_in(browser)
    assert blocked.status_code == 400  # the captcha is now required
    assert browser.submit("/login", {"login": "alice", "password": PASSWORD}, captcha=True).status_code == 302


def test_security_headers(client):
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
