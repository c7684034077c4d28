"""Confirming the password while the account is locked (issue 14).

Before, the right password on /account/confirm-password during a lock signed the person out
without a word and without an audit row. Now the page says what happened, until when, and
what works meanwhile; the refusal is audited; the code-only session stays (it was made with
the mailbox, which the lock says nothing about) and still cannot make security changes.
"""

import re

from authsvc.extensions import db
from authsvc.models import AuditEvent

from .support import Browser

PASSWORD = "correct horse battery"


def _code_session(app, api, mailbox):
    browser = Browser(app.test_client())
    browser.submit("/login/code", {"email": "alice@example.com"}, captcha=True)
    done = browser.submit("/login/code/verify", {"code": mailbox.code("alice@example.com")})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account")
    return browser


def _lock(api):
    for _ in range(5):
        api.post("/sessions", json={"login": "alice", "password": "not the password", **api.captcha()})
    locked = api.post("/sessions", json={"login": "alice", "password": PASSWORD, **api.captcha()})
    assert locked.status_code == 423


def _events(app, name):
    with app.app_context():
        return db.session.execute(db.select(AuditEvent).filter_by(event=name)).scalars().all()


def test_right_password_while_locked_explains_and_audits_and_keeps_the_session(app, api, register_user,
                                                                             mailbox):
    register_user()
    browser = _code_session(app, api, mailbox)
    _lock(api)
    page = "/account/confirm-password?next=/account/password"
    answer = browser.submit(page, {"password": PASSWORD, "next": "/account/password"}, page=page)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 423, html[:300]
    assert re.search(r"\d+ 分钟", html) and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+8\)", html)
    assert "验证码登录" in html and 'href="/reset"' in html  # what works meanwhile, and a way out
    assert answer.headers["Retry-After"]
    assert browser.get("/account").status_code == 200  # still signed in (by code)
    assert browser.get("/account/password").status_code == 302  # and still code-only
    [row] = _events(app, "reauth.locked")
    assert row.outcome == "failure" and 0 < row.detail["seconds"] <= 600


def test_the_api_answers_the_same_explanation_and_audits_it(app, api, register_user, mailbox):
    register_user()
    api.post("/login-codes", json={"email": "alice@example.com", **api.captcha()})
    token = api.post("/sessions/code", json={"email": "alice@example.com",
                                             "code": mailbox.code("alice@example.com")}).get_json()["token"]
    _lock(api)
    answer = api.post("/sessions/reauthenticate", json={"password": PASSWORD}, token=token,
                      headers={"Accept-Language": "en"})
    error = answer.get_json()["error"]
    assert answer.status_code == 423 and error["code"] == "account_locked" and error["retry_after"] > 0
    assert "Reset it by emailed code" in error["message"] and "(UTC+8)" in error["message"]
    assert api.get("/me", token=token).status_code == 200
    assert len(_events(app, "reauth.locked")) == 1


def test_the_failure_that_sets_the_lock_explains_too(app, api, register_user, mailbox):
    register_user()
    browser = _code_session(app, api, mailbox)
    page = "/account/confirm-password"
    for _ in range(4):
        assert browser.submit(page, {"password": "wrong wrong wrong"}).status_code == 401
    fifth = browser.submit(page, {"password": "wrong wrong wrong"})
    assert fifth.status_code == 423 and "重置密码" in fifth.get_data(as_text=True)
    assert browser.get("/account").status_code == 200
    assert len(_events(app, "login.locked")) == 1
