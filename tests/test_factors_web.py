"""Second factors in the pages (issue 13): set up the app from /account, sign in with it or a
recovery code, remove it after a recent password, new recovery codes; zh-CN and English."""

import re
import time

import pyotp

from authsvc.extensions import db
from authsvc.models import AuditEvent

from .support import text_of

PASSWORD = "correct horse battery"
SETTINGS = dict(RESEND_COOLDOWN=0, SEND_LIMIT_PER_EMAIL="20 per 5 minutes", CAPTCHA_ENABLED=False)


def _sign_in(browser, password=PASSWORD):
    return browser.submit("/login", {"login": "alice", "password": password})


def _set_up_app(browser):
    page = browser.get("/account/app").get_data(as_text=True)
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)
    assert "<svg" in page and 'autocomplete="one-time-code"' in page
    done = browser.submit("/account/app", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200, done.get_data(as_text=True)[:500]
    codes = re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", done.get_data(as_text=True))
    return secret, codes


def _signed_in_service(make_service, **settings):
    service = make_service(**SETTINGS, **settings)
    service.register_user()
    assert _sign_in(service.browser).status_code == 302
    return service


def test_set_up_from_the_account_page_then_sign_in_with_the_app(make_service):
    service = _signed_in_service(make_service)
    browser = service.browser
    account = browser.get("/account").get_data(as_text=True)
    assert "/account/app" in account and "两步登录" in account  # zh-CN by default
    secret, codes = _set_up_app(browser)
    assert len(codes) == 10
    assert "未使用的恢复码：10" in browser.get("/account").get_data(as_text=True)
    browser.submit("/logout", {}, page="/account")
    started = _sign_in(browser)
    assert started.status_code == 302 and started.headers["Location"].endswith("/login/verify")
    step = browser.get("/login/verify").get_data(as_text=True)
    assert "身份验证器" in step and "use=recovery" in step and "重新发送" not in step
    assert browser.get("/account").status_code == 302  # not signed in yet
    done = browser.submit("/login/verify", {"code": pyotp.TOTP(secret).at(time.time() + 30)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account")
    assert browser.get("/account").status_code == 200


def test_a_recovery_code_signs_in_once_and_the_owner_is_told(make_service):
    service = _signed_in_service(make_service)
    browser = service.browser
    _secret, codes = _set_up_app(browser)
    browser.submit("/logout", {}, page="/account")
    _sign_in(browser)
    done = browser.submit("/login/verify?use=recovery", {"recovery_code": codes[3].upper().replace("-", " ")})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account")
    assert "剩余恢复码：9 个" in browser.get("/account").get_data(as_text=True)  # the flash
    notice = service.mailbox.last("alice@example.com")
    assert "9" in text_of(notice) and "恢复码" in notice["Subject"]
    browser.submit("/logout", {}, page="/account")
    _sign_in(browser)
    again = browser.submit("/login/verify?use=recovery", {"recovery_code": codes[3]})
    assert again.status_code == 400 and "恢复码" in again.get_data(as_text=True)
    with service.app.app_context():
        used = db.session.query(AuditEvent).filter_by(event="recovery_code.used").all()
        assert [e.detail for e in used] == [{"remaining": 9}]


def test_removing_the_app_asks_for_the_password_once_it_is_not_recent(make_service):
    service = _signed_in_service(make_service, REAUTH_SECONDS=1)
    browser = service.browser
    _set_up_app(browser)
    time.sleep(1.2)
    asked = browser.get("/account/app/remove")
    assert asked.status_code == 302 and "/account/confirm-password" in asked.headers["Location"]
    confirmed = browser.submit("/account/confirm-password?next=/account/app/remove", {"password": PASSWORD})
    assert confirmed.status_code == 302 and confirmed.headers["Location"].endswith("/account/app/remove")
    removed = browser.submit("/account/app/remove", {})
    assert removed.status_code == 302
    assert "/account/app" in browser.get("/account").get_data(as_text=True)
    browser.submit("/logout", {}, page="/account")
    assert _sign_in(browser).headers["Location"].endswith("/account")  # no app step any more


def test_new_recovery_codes_void_the_old_ones(make_service):
    service = _signed_in_service(make_service)
    browser = service.browser
    _secret, old = _set_up_app(browser)
    page = browser.submit("/account/recovery-codes", {})
    new = re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", page.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    browser.submit("/logout", {}, page="/account")
    _sign_in(browser)
    assert browser.submit("/login/verify?use=recovery", {"recovery_code": old[0]}).status_code == 400
    assert browser.submit("/login/verify?use=recovery", {"recovery_code": new[0]}).status_code == 302


def test_the_pages_speak_english_too(make_service):
    service = _signed_in_service(make_service)
    english = {"Accept-Language": "en"}
    page = service.browser.get("/account/app", headers=english).get_data(as_text=True)
    assert "Set up an authenticator app" in page and "Scan this QR code" in page
    assert "Two-step sign-in" in service.browser.get("/account", headers=english).get_data(as_text=True)
