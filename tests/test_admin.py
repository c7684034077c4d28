"""Admin: first admin from the CLI, access control, users, invite codes."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from authsvc.extensions import db
from authsvc.models import InviteCode, User, utcnow

from .support import ADMIN_PASSWORD, Api, Browser, create_admin
from .test_sessions_web import sign_in, signed_in

PASSWORD = "correct horse battery"


def test_create_admin_from_environment(app):
    result = create_admin(app)
    assert "created admin boss <root@example.com>" in result.output
    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(username="boss")).scalar_one()
        assert user.is_admin and ADMIN_PASSWORD not in user.password_hash


def test_create_admin_prompts_with_confirmation(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--email", "root@example.com", "--username", "boss"],
                           input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n", env={"AUTHSVC_ADMIN_PASSWORD": ""})
    assert result.exit_code == 0, result.output
    assert ADMIN_PASSWORD not in result.output  # hidden input


def test_create_admin_takes_no_password_argument(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "--email", "r@example.com", "--username",
                                                "boss", "--password", "x"])
    assert result.exit_code != 0 and "No such option" in result.output


def test_create_admin_refuses_a_weak_password(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "--email", "r@example.com", "--username",
                                                "boss"], env={"AUTHSVC_ADMIN_PASSWORD": "123456"})
    assert result.exit_code != 0 and "password" in result.output


def test_create_admin_promotes_an_existing_account(app, register_user):
    register_user()
    result = create_admin(app, email="alice@example.com", username="ignored")
    assert "promoted admin alice" in result.output


ADMIN_ROUTES = [("GET", "/admin/users"), ("GET", "/admin/users/1"), ("POST", "/admin/users/1/deactivate"),
                ("POST", "/admin/users/1/unlock"), ("GET", "/admin/invites"), ("POST", "/admin/invites"),
                ("DELETE", "/admin/invites/ABCDEF"), ("GET", "/admin/audit"), ("GET", "/admin/mail-stats"),
                ("GET", "/admin/dashboard")]


@pytest.mark.parametrize("method,path", ADMIN_ROUTES)
def test_admin_api_is_401_anonymous_and_403_for_users(api, register_user, method, path):
    _user, token = register_user()
    anonymous = api.call(method, path, json={})
    assert anonymous.status_code == 401
    as_user = api.call(method, path, json={}, token=token)
    assert as_user.status_code == 403 and as_user.get_json()["error"]["code"] == "forbidden"


def test_admin_pages_for_users_and_anonymous(client, browser, register_user):
    register_user()
    assert client.get("/admin").status_code == 302  # to the sign-in page
    sign_in(browser)
    for path in ("/admin", "/admin/users", "/admin/invites", "/admin/audit"):
        assert browser.get(path).status_code == 403, path


def test_admin_with_a_code_only_token_must_confirm_the_password(app, api, mailbox):
    create_admin(app)
    api.post("/login-codes", json={"email": "root@example.com", **api.captcha()})
    token = api.post("/sessions/code", json={"email": "root@example.com",
                                             "code": mailbox.code("root@example.com")}).get_json()["token"]
    response = api.get("/admin/users", token=token)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "reauthentication_required"


def test_search_users(api, admin_token, register_user):
    register_user()
    register_user(email="bob@example.com", username="bob")
    found = api.get("/admin/users?q=bob", token=admin_token).get_json()
    assert found["total"] == 1 and found["items"][0]["email"] == "bob@example.com"
    assert api.get("/admin/users", token=admin_token).get_json()["total"] == 3
    assert api.get("/admin/users?page=0", token=admin_token).status_code == 400


def test_deactivate_ends_sessions_and_tokens_then_activate(app, api, admin_token, register_user):
    user, token = register_user()
    browser = Browser(app.test_client())
    sign_in(browser)
    response = api.post(f"/admin/users/{user['id']}/deactivate", token=admin_token)
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert api.get("/me", token=token).status_code == 401
    assert not signed_in(browser)
    assert api.post("/sessions", json={"login": "alice", "password": PASSWORD}).status_code == 401
    api.post(f"/admin/users/{user['id']}/activate", token=admin_token)
    assert api.post("/sessions", json={"login": "alice", "password": PASSWORD}).status_code == 200


def test_unlock(make_service):
    service = make_service(LOGIN_CAPTCHA="never")
    api = service.api
    user, _token = service.register_user()
    create_admin(service.app)
    admin = api.post("/sessions", json={"login": "boss", "password": ADMIN_PASSWORD}).get_json()["token"]
    for _ in range(5):
        api.post("/sessions", json={"login": "alice", "password": "wrong password!"})
    assert api.get(f"/admin/users/{user['id']}", token=admin).get_json()["locked"] is True
    api.post(f"/admin/users/{user['id']}/unlock", token=admin)
    assert api.post("/sessions", json={"login": "alice", "password": PASSWORD}).status_code == 200


def test_admin_sends_a_reset_code(api, admin_token, register_user, mailbox):
    user, _token = register_user()
    mailbox.server.clear()
    assert api.post(f"/admin/users/{user['id']}/send-reset", token=admin_token).status_code == 200
    code = mailbox.code("alice@example.com")
    done = api.post("/password-resets/confirm", json={"email": "alice@example.com", "code": code,
                                                      "new_password": "chosen by the owner herself"})
    assert done.status_code == 200


def test_invites_via_api(api, admin_token):
    created = api.post("/admin/invites", json={"count": 3, "uses": 2, "expires": "2099-12-31"},
                       token=admin_token)
    assert created.status_code == 201
    codes = [item["code"] for item in created.get_json()["items"]]
    assert len(set(codes)) == 3 and all(len(c.replace("-", "")) == 16 for c in codes)
    listed = api.get("/admin/invites", token=admin_token).get_json()
    assert listed["total"] == 3 and listed["items"][0]["status"] == "active"
    assert listed["items"][0]["expires"] == "2099-12-31"  # the last valid day, as given
    chosen = api.post("/admin/invites", json={"code": "welcome-2026", "uses": 50}, token=admin_token)
    assert chosen.get_json()["items"][0]["code"] == "WELCOME-2026"
    assert api.delete("/admin/invites/WELCOME-2026", token=admin_token).get_json()["status"] == "disabled"
    listed = api.get("/admin/invites?status=disabled", token=admin_token).get_json()["items"]
    assert [i["code"] for i in listed] == ["WELCOME-2026"]  # kept, not only answered
    bad = api.post("/admin/invites", json={"count": 0}, token=admin_token)
    assert bad.status_code == 422 and "count" in bad.get_json()["error"]["fields"]


def invite_service(make_service, **overrides):
    service = make_service(REGISTRATION_MODE="invite", RESEND_COOLDOWN=0, **overrides)
    with service.app.app_context():
        db.session.add_all([
            InviteCode(code="GOOD-CODE", all_cnt=2),
            InviteCode(code="LAST-USE", all_cnt=1),
            InviteCode(code="OLD-CODE", all_cnt=5, expire_date=utcnow() - timedelta(days=1)),
            InviteCode(code="FULL-CODE", all_cnt=1, used_cnt=1),
        ])
        db.session.commit()
    return service


@pytest.mark.parametrize("code,message", [(None, "需要邀请码"), ("NOPE-NOPE", "邀请码无效"),
                                          ("OLD-CODE", "已过期"), ("FULL-CODE", "已用完")])
def test_invite_mode_reasons(make_service, code, message):
    api = invite_service(make_service).api
    response = api.register(invite_code=code) if code else api.register()
    assert response.status_code == 422
    assert message in response.get_json()["error"]["fields"]["invite_code"][0]


def test_invite_use_is_taken_at_confirmation_only(make_service):
    service = invite_service(make_service)
    api, mailbox = service.api, service.mailbox
    assert api.register(invite_code="good-code").status_code == 202  # case-insensitive
    with service.app.app_context():
        invite = db.session.execute(db.select(InviteCode).filter_by(code="GOOD-CODE")).scalar_one()
        assert invite.used_cnt == 0  # an abandoned registration eats nothing
    right = mailbox.code("alice@example.com")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    api.confirm_registration("alice@example.com", wrong)
    confirmed = api.confirm_registration("alice@example.com", right)
    assert confirmed.status_code == 201
    with service.app.app_context():
        invite = db.session.execute(db.select(InviteCode).filter_by(code="GOOD-CODE")).scalar_one()
        assert invite.used_cnt == 1 and [u.user.username for u in invite.uses] == ["alice"]


def test_twenty_concurrent_confirmations_on_the_last_use(make_service):
    service = invite_service(make_service, SEND_LIMIT_PER_IP="100 per hour")
    api, mailbox = service.api, service.mailbox
    people = [(f"user{i}@example.com", f"user{i}") for i in range(20)]
    for email, name in people:
        assert api.register(email=email, username=name, invite_code="LAST-USE").status_code == 202
    codes = {email: mailbox.code(email) for email, _name in people}

    def confirm(email):
        return Api(service.app.test_client()).confirm_registration(email, codes[email]).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(confirm, codes))
    assert statuses.count(201) == 1, statuses
    assert statuses.count(422) == 19
    with service.app.app_context():
        assert db.session.query(User).count() == 1
        invite = db.session.execute(db.select(InviteCode).filter_by(code="LAST-USE")).scalar_one()
        assert invite.used_cnt == 1 and invite.status == "full"


def test_invite_guessing_is_rate_limited(make_service):
    api = invite_service(make_service, INVITE_FAILURES_PER_HOUR=3).api
    statuses = [api.register(invite_code=f"GUESS-{i}").status_code for i in range(4)]
    assert statuses == [422, 422, 422, 429]


def test_invite_pages(app, browser):
    create_admin(app)
    sign_in(browser, name="boss", password=ADMIN_PASSWORD)
    response = browser.submit("/admin/invites", {"count": 2, "uses": 3, "expires": "", "code": ""})
    assert response.status_code == 302
    page = browser.get("/admin/invites").get_data(as_text=True)
    assert page.count("0 / 3") == 2
    assert browser.get("/admin").status_code == 200
    assert browser.get("/admin/users?q=boss").status_code == 200


def test_closed_service_run_by_an_admin(make_service):
    service = make_service(REGISTRATION_MODE="closed")
    assert service.browser.get("/register").status_code == 403
    create_admin(service.app)
    token = service.api.post("/sessions", json={"login": "boss", "password": ADMIN_PASSWORD}).get_json()["token"]
    assert service.api.get("/admin/users", token=token).get_json()["total"] == 1


def test_admin_pages_refuse_hostile_filters_without_a_500(app, browser):
    create_admin(app)
    sign_in(browser, name="boss", password=ADMIN_PASSWORD)
    assert browser.get("/admin/users?q=a%00b").status_code == 400
    assert browser.get("/admin/users/99999999999999999999999").status_code == 404
    # the audit page explains the bad filter above the unfiltered list
    page = browser.get("/admin/audit?email=x%00y")
    assert page.status_code == 200 and "请求格式不正确" in page.get_data(as_text=True)
    page = browser.get("/admin/audit?until=9999-12-31")
    assert page.status_code == 200 and "请使用 2026-01-31 这样的日期格式" in page.get_data(as_text=True)
    assert browser.submit("/admin/invites/AB%00CD/disable", {}, page="/admin/invites").status_code == 404
