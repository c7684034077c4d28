"""SECURITY.md items 30-33: email and password changes, admin access, no default credentials."""

import re
from pathlib import Path

from authsvc.extensions import db
from authsvc.models import User

from ..support import html_of, text_of
from .helpers import (ADMIN_PASSWORD, NEW_PASSWORD, PASSWORD, Api_for, Browser_for, api_login, create_admin,
                      csrf_of, force_codes, get_user, signed_in, user_rows, web_login)

ROOT = Path(__file__).resolve().parents[2]
URL = re.compile(r"https?://[^\s\"'<>]+")


def _no_secret_in(message, public_url="https://accounts.example.com", undo_link=False):
    """A notice carries no code and no link with a token in it; links point at PUBLIC_URL.

    The one exception (issue 14): the email-changed notice to the old address carries its
    undo link, a signed single-use token that can only give the account that address back
    (tests/test_email_undo.py). It gives no access to the account: the restored address then
    receives a reset code like any other."""
    body = message["Subject"] + text_of(message) + html_of(message)
    assert not re.search(r"(?<!\d)\d{6}(?!\d)", body), "a code in a notice"
    undo = set()
    for link in URL.findall(text_of(message) + html_of(message)):
        assert link.startswith(public_url), link
        path = link[len(public_url):]
        if undo_link and path.startswith("/email/undo/"):
            undo.add(path)
            continue
        assert not re.search(r"[A-Za-z0-9_\-.]{20,}", path), f"token-like link {link}"
    assert len(undo) == (1 if undo_link else 0), undo


# --- item 30 --------------------------------------------------------------------------------
def test_item_30_new_address_counts_only_after_its_code_and_the_old_one_gets_a_secret_free_notice(
        app, api, register_user, browser, mailbox):
    register_user()
    web_login(browser)
    mailbox.server.clear()
    sent = browser.submit("/account/email", {"new_email": "alice.new@example.com", "password": PASSWORD})
    assert sent.headers["Location"].endswith("/account/email/verify")
    right = mailbox.code("alice.new@example.com")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert browser.submit("/account/email/verify", {"code": wrong}).status_code == 400
    assert get_user(app, username="alice").email == "alice@example.com"  # not before the code
    assert api_login(api, "alice.new@example.com").status_code == 401
    assert mailbox.messages("alice@example.com") == []
    done = browser.submit("/account/email/verify", {"code": right})
    assert done.headers["Location"].endswith("/account")
    assert get_user(app, username="alice").email == "alice.new@example.com"
    assert api_login(api, "alice@example.com").status_code == 401
    assert api_login(api, "alice.new@example.com").status_code == 200
    notices = mailbox.messages("alice@example.com")
    assert len(notices) == 1
    notice = notices[0]["message"]
    assert "a***@example.com" in text_of(notice)  # says where it went, masked
    _no_secret_in(notice, undo_link=True)


# --- item 31 --------------------------------------------------------------------------------
def test_item_31_reset_ends_remembered_devices_and_pending_second_steps(make_service, monkeypatch):
    service = make_service(LOGIN_SECOND_FACTOR="new_device", RESEND_COOLDOWN=0, CAPTCHA_ENABLED=False,
                           SEND_LIMIT_PER_EMAIL="20 per hour")
    service.register_user()
    api, mailbox = service.api, service.mailbox
    force_codes(monkeypatch, 515151)
    first = api_login(api).get_json()
    device = api.post("/sessions/second-factor", json={"challenge": first["challenge"],
                                                       "code": "515151"}).get_json()["device_token"]
    assert api_login(api, device_token=device).status_code == 200  # a known device skips the step
    pending = api_login(api).get_json()["challenge"]  # someone else, halfway through
    remembered = Browser_for(service.app)
    remembered.client.set_cookie("authsvc_device", device)
    assert web_login(remembered, remember="y").headers["Location"].endswith("/account")  # no second step
    mailbox.server.clear()
    api.post("/password-resets", json={"email": "alice@example.com"})
    done = api.post("/password-resets/confirm", json={"email": "alice@example.com", "code": "515151",
                                                      "new_password": NEW_PASSWORD})
    assert done.status_code == 200 and "token" not in done.get_json()  # no sign-in by itself
    assert api.post("/sessions/second-factor", json={"challenge": pending, "code": "515151"}).status_code == 400
    assert api_login(api, "alice", NEW_PASSWORD, device_token=device).status_code == 202  # device forgotten
    assert not signed_in(remembered)
    mails = [m["message"] for m in mailbox.messages("alice@example.com")]
    # the alert, not the reset code (whose subject tag 【重置密码】 says 重置 too)
    alerts = [m for m in mails if m["Subject"].startswith("【安全提醒】") and "重置" in m["Subject"]]
    assert len(alerts) == 1
    _no_secret_in(alerts[0])


def test_item_31_password_change_page_ends_other_sessions_tokens_and_second_steps(make_service):
    service = make_service(LOGIN_SECOND_FACTOR="always", RESEND_COOLDOWN=0, SEND_LIMIT_PER_EMAIL="20 per hour")
    _user, token = service.register_user()
    app, mailbox = service.app, service.mailbox
    mine, other = Browser_for(app), Browser_for(app)
    for browser in (mine, other):
        web_login(browser)
        browser.submit("/login/verify", {"code": mailbox.code("alice@example.com")})
        assert signed_in(browser)
    pending = api_login(service.api).get_json()["challenge"]
    pending_code = mailbox.code("alice@example.com")
    mailbox.server.clear()
    changed = mine.submit("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                "confirm": NEW_PASSWORD})
    assert changed.status_code == 302
    assert signed_in(mine) and not signed_in(other)
    assert service.api.get("/me", token=token).status_code == 401
    late = service.api.post("/sessions/second-factor", json={"challenge": pending, "code": pending_code})
    assert late.status_code == 400  # a second step begun with the old password is void
    alert = mailbox.last("alice@example.com")
    assert "修改" in alert["Subject"] or "更改" in alert["Subject"]
    _no_secret_in(alert)


def test_item_31_html_reset_does_not_sign_in_by_itself(app, browser, register_user, mailbox):
    register_user()
    mailbox.server.clear()
    browser.submit("/reset", {"email": "alice@example.com"}, captcha=True)
    done = browser.submit("/reset/verify", {"code": mailbox.code("alice@example.com"),
                                            "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert not signed_in(browser)


# --- item 32 --------------------------------------------------------------------------------
def _admin_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith(("/admin", "/api/v1/admin"))]


VALUES = {"user_id": 1, "action": "deactivate", "code": "SOME-CODE", "block_id": "0123456789ab",
          "target": "203.0.113.0/24", "client_id": "no-such-client"}


def test_item_32_every_admin_route_answers_anonymous_401_and_users_403(app, api, register_user):
    user, token = register_user()
    VALUES["user_id"] = user["id"]
    browser = Browser_for(app)
    web_login(browser)
    csrf = csrf_of(browser, "/account")
    anonymous = Browser_for(app)
    anonymous_csrf = csrf_of(anonymous, "/login")  # its own valid token: the check is the sign-in, not CSRF
    rules = _admin_rules(app)
    assert len(rules) >= 15
    checked = 0
    for rule in rules:
        path = rule.build(VALUES, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            checked += 1
            if path.startswith("/api/"):
                nobody = api.call(method, path[len("/api/v1"):], json={})
                assert nobody.status_code == 401, (method, path)
                as_user = api.call(method, path[len("/api/v1"):], json={}, token=token)
                assert as_user.status_code == 403, (method, path)
                assert as_user.get_json()["error"]["code"] == "forbidden"
            else:
                data = {"csrf_token": csrf} if method == "POST" else None
                nobody = anonymous.client.open(path, method=method,
                                               data={"csrf_token": anonymous_csrf} if data else None)
                assert nobody.status_code in (302, 401), (method, path)
                if nobody.status_code == 302:
                    assert "/login" in nobody.headers["Location"], (method, path)
                assert "boss" not in nobody.get_data(as_text=True)
                as_user = browser.client.open(path, method=method, data=data)
                assert as_user.status_code == 403, (method, path)
    assert checked >= len(rules)
    assert get_user(app, username="alice").active


def test_item_32_deactivating_from_the_admin_page_ends_every_session(app, api, register_user):
    user, token = register_user()
    alice = Browser_for(app)
    web_login(alice)
    create_admin(app)
    admin = Browser_for(app)
    web_login(admin, "boss", ADMIN_PASSWORD)
    done = admin.client.post(f"/admin/users/{user['id']}/deactivate", data={"csrf_token": csrf_of(admin, "/admin")})
    assert done.status_code == 302
    assert not signed_in(alice)
    assert api.get("/me", token=token).status_code == 401
    assert api_login(api).status_code == 401
    admin.client.post(f"/admin/users/{user['id']}/activate", data={"csrf_token": csrf_of(admin, "/admin")})
    assert api_login(api).status_code == 200


# --- item 33 --------------------------------------------------------------------------------
CLASSIC = ["admin", "password", "admin123", "administrator", "root", "toor", "changeme", "change-me",
           "secret", "authsvc", "default", "123456", "12345678", "password123", "Admin@123", "admin@123",
           "letmein", "test", "testing", "guest", "qwerty", "P@ssw0rd"]


def _literals_from_the_repo():
    """Password-like values shipped with the project: env examples, compose defaults, docs."""
    found = set()
    for name in (".env.example", "docker-compose.yml", "README.md", "Makefile", "authsvc/cli.py",
                 "authsvc/config.py"):
        path = ROOT / name
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        found.update(re.findall(r"^[A-Z_]*(?:PASSWORD|SECRET|KEY|TOKEN)[A-Z_]*=(\S+)", text, re.M))
        found.update(re.findall(r":-([^}]+)\}", text))
        found.update(re.findall(r'"password"\s*:\s*"([^"]+)"', text))
        found.update(re.findall(r'"(?:[a-z-]*(?:secret|pass)[a-z-]*)"', text))
    return {value.strip("\"'") for value in found if 3 <= len(value.strip("\"'")) <= 72}


def test_item_33_a_fresh_database_has_no_accounts_and_no_admin(base_config, tmp_path):
    from flask_migrate import upgrade

    from authsvc import create_app

    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    app = create_app(dict(base_config, DATABASE_URL=url, SQLALCHEMY_DATABASE_URI=url, LOGIN_CAPTCHA="never",
                          LOGIN_LOCKOUT_THRESHOLD=100_000, LOGIN_LIMIT_PER_IP="10000 per minute"))
    try:
        with app.app_context():
            upgrade()
            assert db.session.query(User).count() == 0
        api = Api_for(app)
        for name in ("admin", "root", "administrator", "admin@example.com", "boss", "authsvc"):
            for password in CLASSIC[:6]:
                assert api_login(api, name, password).status_code == 401, (name, password)
        # the first admin comes from the CLI, and only with a password the operator chose
        no_password = app.test_cli_runner().invoke(
            args=["create-admin", "--email", "root@example.com", "--username", "boss"],
            env={"AUTHSVC_ADMIN_PASSWORD": ""}, input="")
        assert no_password.exit_code != 0
        with app.app_context():
            assert db.session.query(User).count() == 0
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_item_33_no_shipped_or_classic_password_opens_the_cli_made_admin(make_service):
    service = make_service(LOGIN_CAPTCHA="never", LOGIN_LOCKOUT_THRESHOLD=100_000,
                           LOGIN_LIMIT_PER_IP="10000 per minute")
    create_admin(service.app, password="operator chose this one")
    candidates = sorted(set(CLASSIC) | _literals_from_the_repo())
    assert len(candidates) > len(CLASSIC)
    for name in ("boss", "root@example.com"):
        for password in candidates:
            assert api_login(service.api, name, password).status_code == 401, (name, password)
    assert api_login(service.api, "boss", "operator chose this one").status_code == 200
    assert [row[5] for row in user_rows(service.app)] == [True]  # exactly one account: the admin


def test_item_33_compose_ships_no_fallback_credentials():
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    fallbacks = re.findall(r"\$\{([A-Z_]*(?:PASSWORD|SECRET|KEY|TOKEN)[A-Z_]*):-([^}]*)\}", compose)
    assert not fallbacks, fallbacks
