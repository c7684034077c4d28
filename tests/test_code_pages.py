"""Issue 14, "Codes": every page that takes a code states how long the code stays valid and when
a new one may be sent — the server's own figures (the code's TTL in Redis, the send limits
read without charging) — plus "Didn't get it?" help. The countdown itself runs in Chromium
(tests/browser/test_code_pages.py)."""

import re
import time

import pytest

from .support import csrf_from
from .support.clients import Browser

PASSWORD = "correct horse battery"


def _figures(html):
    clock = re.search(r'data-code-clock="(-?\d+)"', html)
    wait = re.search(r'data-countdown="(\d+)"', html)
    return int(clock.group(1)), int(wait.group(1))


def _button(html):
    return re.search(r'<form method="(get|post)" action="([^"]+)" class="resend">.*?<button([^>]*)>\s*([^<]*?)\s*</button>',
                     html, re.S)


def _register_page(service, email="alice@example.com"):
    sent = service.browser.submit("/register", {"email": email, "username": "alice", "password": PASSWORD,
                                                "confirm": PASSWORD}, captcha=True)
    assert sent.status_code == 302
    return "/register/verify"


def _login_code_page(service, email="alice@example.com"):
    assert service.browser.submit("/login/code", {"email": email}, captcha=True).status_code == 302
    return "/login/code/verify"


def _reset_page(service, email="alice@example.com"):
    assert service.browser.submit("/reset", {"email": email}, captcha=True).status_code == 302
    return "/reset/verify"


def _sign_in(service):
    service.register_user()
    response = service.browser.submit("/login", {"login": "alice", "password": PASSWORD})
    assert response.status_code == 302


def _second_step_page(service):
    _sign_in(service)
    return "/login/verify"


def _change_email_page(service):
    _sign_in(service)
    sent = service.browser.submit("/account/email", {"new_email": "alice.new@example.com", "password": PASSWORD})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    return "/account/email/verify"


PAGES = {  # page → (how to reach it, the code's life setting, what its resend button does)
    "register": (_register_page, 900, "post", "/register/resend"),
    "login": (_login_code_page, 300, "get", "/login/code"),
    "second_step": (_second_step_page, 300, "post", "/login/verify/resend"),
    "reset": (_reset_page, 1800, "get", "/reset"),
    "change_email": (_change_email_page, 900, "get", "/account/email"),
}


@pytest.mark.parametrize("name", PAGES)
def test_every_code_page_states_the_codes_life_and_the_resend_wait(make_service, name):
    reach, life, method, action = PAGES[name]
    service = make_service(RESEND_COOLDOWN=60, LOGIN_SECOND_FACTOR="always" if name == "second_step" else "off")
    if name in ("login", "reset"):
        service.register_user()
    html = service.browser.get(reach(service)).get_data(as_text=True)
    expires_in, wait = _figures(html)
    assert life - 3 <= expires_in <= life  # the code key's own TTL
    assert 57 <= wait <= 60  # RESEND_COOLDOWN, read from the send limits
    button = _button(html)
    assert button.group(1) == method and button.group(2) == action
    assert "disabled" in button.group(3)  # not offered before the server would send
    assert button.group(4) == f"{wait} 秒后可重新发送"
    assert f"{life // 60} 分钟" in html  # without JavaScript: the minutes, as words
    assert 'role="timer"' in html and 'role="status"' in html
    assert "没有收到？" in html and "垃圾邮件" in html
    assert "QQ 邮箱：设置 → 反垃圾 → 设置邮件地址白名单 → 添加 noreply@accounts.example.com" in html


def test_the_second_step_no_longer_offers_a_resend_the_server_would_refuse(make_service):
    """Old page: the button was ready at once and the click answered 429."""
    service = make_service(RESEND_COOLDOWN=2, LOGIN_SECOND_FACTOR="always")
    page = _second_step_page(service)
    assert "disabled" in _button(service.browser.get(page).get_data(as_text=True)).group(3)
    time.sleep(2.1)
    html = service.browser.get(page).get_data(as_text=True)
    assert _figures(html)[1] == 0 and "disabled" not in _button(html).group(3)
    resent = service.browser.client.post("/login/verify/resend", data={"csrf_token": csrf_from(html)})
    assert resent.status_code == 302
    assert "disabled" in _button(service.browser.get(page).get_data(as_text=True)).group(3)


def test_the_wait_is_the_send_limits_not_only_the_cooldown(make_service):
    service = make_service(RESEND_COOLDOWN=0, SEND_LIMIT_PER_EMAIL="2 per 5 minutes")
    page = _register_page(service)
    assert _figures(service.browser.get(page).get_data(as_text=True))[1] == 0
    html = service.browser.get(page).get_data(as_text=True)
    assert service.browser.client.post("/register/resend", data={"csrf_token": csrf_from(html)}).status_code == 302
    html = service.browser.get(page).get_data(as_text=True)
    assert 295 <= _figures(html)[1] <= 300  # the 3rd send would break "2 per 5 minutes"
    refused = service.browser.client.post("/register/resend", data={"csrf_token": csrf_from(html)})
    assert refused.status_code == 429 and 295 <= _figures(refused.get_data(as_text=True))[1] <= 300


def test_an_expired_code_is_said_without_javascript(make_service):
    service = make_service(CODE_TTL_LOGIN=1)
    service.register_user()
    page = _login_code_page(service)
    time.sleep(2.1)
    html = service.browser.get(page).get_data(as_text=True)
    assert _figures(html)[0] == 0
    assert re.search(r'<p class="code-expired" role="status"[^>]*>验证码已过期，请重新获取。</p>', html)


def test_unknown_addresses_get_the_same_figures(make_service):
    service = make_service()
    service.register_user()
    pages = []
    for email in ("alice@example.com", "nobody@example.com"):
        service.browser = Browser(service.app.test_client())  # a fresh visitor
        html = service.browser.get(_login_code_page(service, email)).get_data(as_text=True)
        pages.append(re.sub(r'value="[A-Za-z0-9_.-]{40,}"', "", html))  # CSRF tokens
    assert _figures(pages[0]) == _figures(pages[1])
    assert pages[0].replace("a***@", "n***@") == pages[1]


def test_support_contact_is_offered_when_set(make_service):
    service = make_service(SUPPORT_CONTACT="https://help.example.org/codes")
    html = service.browser.get(_reset_page(service)).get_data(as_text=True)
    assert '<a href="https://help.example.org/codes">https://help.example.org/codes</a>' in html
    service = make_service()
    page = _reset_page(service, "bob@example.com")
    assert "help.example.org" not in service.browser.get(page).get_data(as_text=True)


def test_english_pages_say_it_in_english(make_service):
    service = make_service()
    service.register_user()
    client = service.browser.client
    client.set_cookie("lang", "en")
    html = service.browser.get(_login_code_page(service)).get_data(as_text=True)
    assert "Time left on this code:" in html and "5 minutes" in html
    assert "Didn&#39;t get it?" in html or "Didn't get it?" in html
    assert "In QQ Mail: Settings → Anti-spam → Email address whitelist → add noreply@accounts.example.com." in html
