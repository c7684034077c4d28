"""Admins and second factors (issue 13): ADMIN_REQUIRE_MFA closes the admin area to an admin
without a passkey or app and walks him to set one up; "reset second factors" removes a user's
factors (audited, mailed, sessions ended) and needs the admin's own second factor, fresh."""

import time

import pyotp
import pytest

from authsvc.extensions import db
from authsvc.models import AuditEvent, User

from .support import ADMIN_PASSWORD, create_admin, csrf_from
from .test_totp import Clock, enrol

PASSWORD = "correct horse battery"
SETTINGS = dict(RESEND_COOLDOWN=0, SEND_LIMIT_PER_EMAIL="20 per 5 minutes", CAPTCHA_ENABLED=False,
                ADMIN_REQUIRE_MFA=True)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def service(make_service):
    service = make_service(**SETTINGS)
    create_admin(service.app)
    return service


def password_token(api, login="boss", password=ADMIN_PASSWORD):
    answer = api.post("/sessions", json={"login": login, "password": password})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["token"]


def app_token(api, secret, login="boss", password=ADMIN_PASSWORD):
    """Sign in through the app step: the token's second factor is fresh."""
    started = api.post("/sessions", json={"login": login, "password": password})
    assert started.status_code == 202 and started.get_json()["second_step"] == "totp", started.get_json()
    done = api.post("/sessions/second-factor", json={"challenge": started.get_json()["challenge"],
                                                     "totp": pyotp.TOTP(secret).now()})
    assert done.status_code == 200, done.get_json()
    return done.get_json()["token"]


def enrolled_admin(service, clock):
    """The admin with an app enrolled two minutes ago (the steps around now are still unused)."""
    secret, _answer = enrol(service.api, password_token(service.api), now=time.time() - 120, clock=clock)
    return secret


def user_id(app, username):
    with app.app_context():
        return db.session.execute(db.select(User.id).filter_by(username=username)).scalar_one()


def test_the_default_is_on_in_production_only(base_config):
    from authsvc import create_app

    production = dict(base_config, AUTHSVC_ENV="production", SECRET_KEY="p" * 48,
                      CAPTCHA_FIXED_TEXT=None, BCRYPT_ROUNDS=12)
    assert create_app(production).config["ADMIN_REQUIRE_MFA"] is True
    assert create_app(dict(production, ADMIN_REQUIRE_MFA=False)).config["ADMIN_REQUIRE_MFA"] is False
    assert create_app(dict(base_config)).config["ADMIN_REQUIRE_MFA"] is False


def test_api_admin_without_a_factor_is_refused_until_he_enrols(service, clock):
    api = service.api
    token = password_token(api)
    refused = api.get("/admin/users", token=token)
    assert refused.status_code == 403
    error = refused.get_json()["error"]
    assert error["code"] == "second_factor_required" and "身份验证器应用或通行密钥" in error["message"]
    secret, _answer = enrol(api, token, now=time.time() - 120, clock=clock)  # enrolment stays open to him
    # from now on his sign-in asks for the app, and the admin area opens
    assert api.get("/admin/users", token=app_token(api, secret)).status_code == 200


def test_pages_walk_an_admin_without_a_factor_to_set_one_up(service):
    browser = service.browser
    page = browser.get("/login").get_data(as_text=True)
    signed = browser.client.post("/login", data={"login": "boss", "password": ADMIN_PASSWORD,
                                                 "csrf_token": csrf_from(page)})
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/account#factors")
    account = browser.client.get("/account").get_data(as_text=True)
    assert "请先设置身份验证器应用或通行密钥，才能使用管理后台。" in account  # zh-CN by default
    admin = browser.client.get("/admin/users")
    assert admin.status_code == 302 and admin.headers["Location"].endswith("/account#factors")


def test_reset_removes_every_factor_ends_sessions_and_tells_the_owner(service, clock):
    api, app = service.api, service.app
    admin_secret = enrolled_admin(service, clock)
    _alice, alice_token = service.register_user()
    enrol(api, alice_token, now=time.time() - 120, clock=clock)
    alice = user_id(app, "alice")
    service.mailbox.deliver_all()

    done = api.post(f"/admin/users/{alice}/reset-factors", token=app_token(api, admin_secret))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["second_factors"] == [] and done.get_json()["recovery_codes_remaining"] == 0
    assert api.get("/me", token=alice_token).status_code == 401  # signed out everywhere
    signed = api.post("/sessions", json={"login": "alice", "password": PASSWORD})
    assert signed.status_code == 200 and "token" in signed.get_json()  # no app step any more
    service.mailbox.deliver_all()
    notice = service.mailbox.last("alice@example.com")
    assert "管理员已移除您账户的两步验证方式" in notice["Subject"]
    with app.app_context():
        row = db.session.query(AuditEvent).filter_by(event="admin.factors_reset").one()
        assert row.user_id == alice and row.detail["removed"] == ["totp"]
        assert row.detail.get("actor") or row.actor_id  # which admin did it


def test_reset_needs_the_admins_own_factor_fresh(service, clock):
    api, app = service.api, service.app
    before = password_token(api)  # signed in before the app existed: no second factor behind it
    admin_secret, _answer = enrol(api, before, now=time.time() - 120, clock=clock)
    _alice, alice_token = service.register_user()
    enrol(api, alice_token, now=time.time() - 120, clock=clock)
    alice = user_id(app, "alice")

    refused = api.post(f"/admin/users/{alice}/reset-factors", token=before)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "second_factor_required"
    wrong = api.post(f"/admin/users/{alice}/reset-factors", token=before, json={"totp": "000000"})
    assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "invalid_code"
    assert api.get("/me/factors", token=alice_token).get_json()["totp"]["enrolled"] is True  # nothing lost
    done = api.post(f"/admin/users/{alice}/reset-factors", token=before,
                    json={"totp": pyotp.TOTP(admin_secret).now()})
    assert done.status_code == 200 and done.get_json()["second_factors"] == []


def test_reset_refuses_ones_own_account_and_accounts_without_factors(service, clock):
    api, app = service.api, service.app
    admin_secret = enrolled_admin(service, clock)
    token = app_token(api, admin_secret)
    own = api.post(f"/admin/users/{user_id(app, 'boss')}/reset-factors", token=token)
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "forbidden"
    service.register_user()
    none = api.post(f"/admin/users/{user_id(app, 'alice')}/reset-factors", token=token)
    assert none.status_code == 404 and "没有可重置的两步验证方式" in none.get_json()["error"]["message"]


def test_an_admin_without_a_factor_cannot_reset_others_even_when_not_required(make_service, clock):
    service = make_service(**dict(SETTINGS, ADMIN_REQUIRE_MFA=False))
    create_admin(service.app)
    api = service.api
    _alice, alice_token = service.register_user()
    enrol(api, alice_token, now=time.time() - 120, clock=clock)
    refused = api.post(f"/admin/users/{user_id(service.app, 'alice')}/reset-factors", token=password_token(api))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "second_factor_required"


def test_reset_from_the_admin_page(service, clock):
    api, app, browser = service.api, service.app, service.browser
    admin_secret = enrolled_admin(service, clock)
    _alice, alice_token = service.register_user()
    enrol(api, alice_token, now=time.time() - 120, clock=clock)
    alice = user_id(app, "alice")
    page = browser.get("/login").get_data(as_text=True)
    browser.client.post("/login", data={"login": "boss", "password": ADMIN_PASSWORD, "csrf_token": csrf_from(page)})
    step = browser.get("/login/verify").get_data(as_text=True)
    signed = browser.client.post("/login/verify", data={"code": pyotp.TOTP(admin_secret).now(),
                                                            "csrf_token": csrf_from(step)})
    assert signed.status_code == 302, signed.get_data(as_text=True)
    detail = browser.get(f"/admin/users/{alice}").get_data(as_text=True)
    assert "身份验证器应用" in detail and "重置两步验证" in detail
    reset = browser.client.post(f"/admin/users/{alice}/reset-factors", data={"csrf_token": csrf_from(detail)},
                                follow_redirects=True)
    text = reset.get_data(as_text=True)
    assert "已移除该账户的全部两步验证方式" in text
    assert api.get("/me", token=alice_token).status_code == 401


def test_an_admin_signed_in_by_passkey_resets_a_users_passkeys(service):
    from .support.authenticator import SoftAuthenticator
    from .test_passkeys import enrol as enrol_passkey, passkey_sign_in

    api, app = service.api, service.app
    admin_key, alice_key = SoftAuthenticator(), SoftAuthenticator()
    enrol_passkey(api, password_token(api), admin_key, name="admin key")
    _alice, alice_token = service.register_user()
    enrol_passkey(api, alice_token, alice_key, name="alice phone")
    signed = passkey_sign_in(api, admin_key)  # a passkey sign-in: a fresh second factor
    assert signed.status_code == 200, signed.get_json()
    admin_token = signed.get_json()["token"]
    assert api.get("/admin/users", token=admin_token).status_code == 200  # a passkey is enough
    done = api.post(f"/admin/users/{user_id(app, 'alice')}/reset-factors", token=admin_token)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["second_factors"] == []
    assert passkey_sign_in(api, alice_key).status_code == 401  # her passkey is gone
