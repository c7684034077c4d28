"""Passkeys in the pages (issue 13), answered by the software authenticator as the page's script
would post it: add from /account, list, rename, remove after a recent password; sign in with
no login name; the passkey as second step; a challenge answered from another browser session."""

import json
import re

from authsvc.extensions import db
from authsvc.models import AuditEvent

from .support import csrf_from
from .support.authenticator import SoftAuthenticator

PASSWORD = "correct horse battery"
SETTINGS = dict(RESEND_COOLDOWN=0, SEND_LIMIT_PER_EMAIL="20 per 5 minutes", CAPTCHA_ENABLED=False)


def options(browser, url, page):
    """What static/js/passkeys.js does first: POST the options URL with the page's CSRF token."""
    token = csrf_from(browser.get(page).get_data(as_text=True))
    answer = browser.client.post(url, headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert set(body) == {"publicKey"}  # the challenge_id stays in the session
    return body["publicKey"], token


def add_passkey(browser, device, name="MacBook"):
    public_key, token = options(browser, "/account/passkeys/options", "/account/passkeys/new")
    return browser.client.post("/account/passkeys/new", data={
        "csrf_token": token, "name": name, "credential": json.dumps(device.create(public_key))})


def sign_in_with_passkey(browser, device, **bend):
    public_key, token = options(browser, "/login/passkey/options", "/login")
    return browser.client.post("/login/passkey", data={
        "csrf_token": token, "credential": json.dumps(device.get(public_key, **bend)), "next": "/account"})


def _signed_in_service(make_service):
    service = make_service(**SETTINGS)
    service.register_user()
    assert service.browser.submit("/login", {"login": "alice", "password": PASSWORD}).status_code == 302
    return service


def test_add_list_rename_and_remove_a_passkey_from_the_account_page(make_service):
    service = _signed_in_service(make_service)
    browser, device = service.browser, SoftAuthenticator()
    page = browser.get("/account").get_data(as_text=True)
    assert 'id="add-passkey"' in page
    added = add_passkey(browser, device)
    assert added.status_code == 200  # the first factor: the recovery codes page
    codes = re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", added.get_data(as_text=True))
    assert len(codes) == 10
    page = browser.get("/account").get_data(as_text=True)
    assert "MacBook" in page and "Google Password Manager" in page
    manage = re.search(r'href="(/account/passkeys/\d+)"', page).group(1)
    renamed = browser.submit(manage, {"name": "Work laptop"})
    assert renamed.status_code == 302
    assert "Work laptop" in browser.get("/account").get_data(as_text=True)
    removed = browser.submit(f"{manage}/remove", {}, page=manage)
    assert removed.status_code == 302 and removed.headers["Location"].endswith("/account")
    page = browser.get("/account").get_data(as_text=True)
    assert "Work laptop" not in page
    assert "passkey" in service.mailbox.last("alice@example.com")["Subject"].lower() or \
        "通行密钥" in service.mailbox.last("alice@example.com")["Subject"]


def test_removal_asks_for_the_password_once_it_is_not_recent(make_service):
    service = _signed_in_service(make_service)
    browser, device = service.browser, SoftAuthenticator()
    add_passkey(browser, device)
    manage = re.search(r'href="(/account/passkeys/\d+)"', browser.get("/account").get_data(as_text=True)).group(1)
    with browser.client.session_transaction() as session:
        session["password_at"] = 1  # long ago
        session["auth_method"] = "code"
    asked = browser.submit(f"{manage}/remove", {}, page=manage)
    assert "/account/confirm-password" in asked.headers["Location"]
    from urllib.parse import parse_qs, urlsplit

    assert parse_qs(urlsplit(asked.headers["Location"]).query)["next"] == [manage]  # a page to return to, not the POST
    # the confirm page offers the passkey in place of the password
    confirm_page = browser.get(asked.headers["Location"]).get_data(as_text=True)
    assert "/account/confirm-password/passkey" in confirm_page
    public_key, token = options(browser, "/account/confirm-password/passkey-options", "/account/confirm-password")
    confirmed = browser.client.post("/account/confirm-password/passkey", data={
        "csrf_token": token, "credential": json.dumps(device.get(public_key)), "next": manage})
    assert confirmed.status_code == 302 and confirmed.headers["Location"].endswith(manage)
    removed = browser.submit(f"{manage}/remove", {}, page=manage)
    assert removed.headers["Location"].endswith("/account")
    assert "MacBook" not in browser.get("/account").get_data(as_text=True)


def test_sign_in_with_a_passkey_and_no_login_name(make_service):
    service = _signed_in_service(make_service)
    browser, device = service.browser, SoftAuthenticator()
    add_passkey(browser, device)
    browser.submit("/logout", {}, page="/account")
    login_page = browser.get("/login").get_data(as_text=True)
    assert 'autocomplete="username webauthn"' in login_page and "data-conditional" in login_page
    signed_in = sign_in_with_passkey(browser, device)
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/account")
    assert "MacBook" in browser.get("/account").get_data(as_text=True)
    assert "· passkey" in browser.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    # a passkey session may change security settings without the password again
    assert browser.get("/account/passkeys/new").status_code == 200


def test_a_challenge_is_answered_only_by_the_session_that_asked(make_service):
    service = _signed_in_service(make_service)
    browser, device = service.browser, SoftAuthenticator()
    add_passkey(browser, device)
    browser.submit("/logout", {}, page="/account")
    public_key, _token = options(browser, "/login/passkey/options", "/login")
    stranger = service.app.test_client()
    token = csrf_from(stranger.get("/login").get_data(as_text=True))
    answer = stranger.post("/login/passkey", data={"csrf_token": token, "credential": json.dumps(device.get(public_key))})
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert stranger.get("/account").status_code == 302  # not signed in


def test_the_passkey_as_second_step_after_the_password(make_service):
    service = _signed_in_service(make_service)
    browser, device = service.browser, SoftAuthenticator()
    add_passkey(browser, device)
    browser.submit("/logout", {}, page="/account")
    first = browser.submit("/login", {"login": "alice", "password": PASSWORD})
    assert first.headers["Location"].endswith("/login/verify")
    step_page = browser.get("/login/verify").get_data(as_text=True)
    assert "data-passkey-get" in step_page and "use=recovery" in step_page
    public_key, token = options(browser, "/login/verify/passkey-options", "/login/verify")
    assert public_key["allowCredentials"]
    done = browser.client.post("/login/verify", data={"csrf_token": token,
                                                      "credential": json.dumps(device.get(public_key))})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account")
    with service.app.app_context():
        last = db.session.query(AuditEvent).filter_by(event="login.success").order_by(AuditEvent.id.desc()).first()
        assert last.detail == {"method": "password+passkey"}


def test_the_pages_speak_english_too(make_service):
    service = _signed_in_service(make_service)
    english = {"Accept-Language": "en"}
    page = service.browser.get("/account/passkeys/new", headers=english).get_data(as_text=True)
    assert "Add a passkey" in page and "Create passkey" in page
    assert "Passkeys" in service.browser.get("/account", headers=english).get_data(as_text=True)
    service.browser.submit("/logout", {}, page="/account")
    assert "Sign in with a passkey" in service.browser.get("/login", headers=english).get_data(as_text=True)
    zh = service.browser.get("/login").get_data(as_text=True)
    assert "Sign in with a passkey" not in zh and "通行密钥" in zh


def test_beside_a_passkey_the_app_and_a_recovery_code_are_offered(make_service):
    import time

    import pyotp

    service = _signed_in_service(make_service)
    browser, device = service.browser, SoftAuthenticator()
    added = add_passkey(browser, device)
    codes = re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", added.get_data(as_text=True))
    page = browser.get("/account/app").get_data(as_text=True)
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)
    assert browser.submit("/account/app", {"code": pyotp.TOTP(secret).now()}).status_code == 302  # codes kept
    browser.submit("/logout", {}, page="/account")
    browser.submit("/login", {"login": "alice", "password": PASSWORD})
    step = browser.get("/login/verify").get_data(as_text=True)
    assert "use=app" in step and "use=recovery" in step
    app_page = browser.get("/login/verify?use=app").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in app_page and "/login/verify?use=app" in app_page
    done = browser.submit("/login/verify?use=app", {"code": pyotp.TOTP(secret).at(time.time() + 30)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account")
    browser.submit("/logout", {}, page="/account")
    browser.submit("/login", {"login": "alice", "password": PASSWORD})
    done = browser.submit("/login/verify?use=recovery", {"recovery_code": codes[0]})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account")
