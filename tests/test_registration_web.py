"""Registration through the HTML pages with real CSRF tokens, captcha and mail."""

import re

from .support import csrf_from

FORM = {"email": "alice@example.com", "username": "alice", "password": "correct horse battery",
        "confirm": "correct horse battery"}


def test_register_verify_and_land_signed_in(browser, mailbox):
    response = browser.submit("/register", FORM, captcha=True)
    assert response.status_code == 302 and response.headers["Location"].endswith("/register/verify")
    page = browser.get("/register/verify").get_data(as_text=True)
    assert "a***@example.com" in page
    assert 'data-countdown="' in page  # the resend button counts down
    code = mailbox.code("alice@example.com")
    done = browser.submit("/register/verify", {"code": code})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account")
    account = browser.get("/account").get_data(as_text=True)
    assert "alice@example.com" in account and "alice" in account


def test_form_shows_every_problem_and_keeps_input(browser, mailbox):
    bad = dict(FORM, username="Bad Name!", confirm="something else")
    response = browser.submit("/register", bad, captcha=True)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "两次输入的密码不一致" in page
    assert 'value="alice@example.com"' in page  # nothing typed is lost
    assert mailbox.messages() == []


def test_service_errors_land_on_their_fields(browser):
    response = browser.submit("/register", dict(FORM, password="password", confirm="password"),
                              captcha=True)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="password-errors".*?过于常见', page, re.S)


def test_wrong_captcha_on_the_page(browser, mailbox):
    response = browser.submit("/register", dict(FORM, captcha="WRONG"), captcha=True)
    assert response.status_code == 400
    assert "图片验证码不正确" in response.get_data(as_text=True)
    assert mailbox.messages() == []


def test_csrf_is_required(client):
    client.get("/register")
    response = client.post("/register", data=dict(FORM, captcha="K7MX"))
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)


def test_resend_too_early_shows_the_wait(browser):
    browser.submit("/register", FORM, captcha=True)
    response = browser.submit("/register/resend", {}, page="/register/verify")
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "秒后重试" in page or "秒后可重新发送" in page


def test_resend_after_cooldown(make_service):
    service = make_service(RESEND_COOLDOWN=0)
    service.browser.submit("/register", FORM, captcha=True)
    first = service.mailbox.code("alice@example.com")
    response = service.browser.submit("/register/resend", {}, page="/register/verify")
    assert response.status_code == 302
    assert len(service.mailbox.messages("alice@example.com")) == 2
    second = service.mailbox.code("alice@example.com")
    if first != second:
        stale = service.browser.submit("/register/verify", {"code": first})
        assert stale.status_code == 400  # the resend voided it
    done = service.browser.submit("/register/verify", {"code": second})
    assert done.headers["Location"].endswith("/account")


def test_wrong_code_counts_down_on_the_page(browser, mailbox):
    browser.submit("/register", FORM, captcha=True)
    right = mailbox.code("alice@example.com")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = browser.submit("/register/verify", {"code": wrong})
    assert response.status_code == 400
    assert "还可尝试 4 次" in response.get_data(as_text=True)


def test_password_fields_have_the_right_autocomplete(client):
    page = client.get("/register").get_data(as_text=True)
    assert re.search(r'<input[^>]*autocomplete="new-password"[^>]*name="password"[^>]*type="password"', page)
    assert 'name="invite_code"' not in page  # only in invite mode
    assert csrf_from(page)


def test_invite_field_only_in_invite_mode(make_service):
    page = make_service(REGISTRATION_MODE="invite").browser.get("/register").get_data(as_text=True)
    assert 'name="invite_code"' in page


def test_session_cookie_holds_only_an_id(browser):
    browser.submit("/register", FORM, captcha=True)
    cookie = browser.client.get_cookie("authsvc_session")
    assert cookie is not None and re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie.value)
    assert cookie.http_only and cookie.same_site == "Lax"
