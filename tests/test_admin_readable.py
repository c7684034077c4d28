"""An admin area people can read (issue 15): events by name in both languages, details as
labelled fields, the acting admin, validated dates, a CSV Excel opens, locked accounts shown,
danger actions marked, pending codes cleared, invite count 0 refused, tables at 390 px."""

import re

import pytest

from authsvc.extensions import db
from authsvc.models import AuditEvent, InviteCode

from .support import ADMIN_PASSWORD, Browser, create_admin
from .test_sessions_web import sign_in

PASSWORD = "correct horse battery"


@pytest.fixture
def admin_browser(app, browser):
    create_admin(app)
    sign_in(browser, name="boss", password=ADMIN_PASSWORD)
    return browser


def rows(html):
    return re.findall(r"<tr>(.*?)</tr>", html, re.S)


def test_audit_events_read_by_name_with_labelled_details_and_the_acting_admin(app, api, admin_token,
                                                                               register_user, admin_browser):
    user, _token = register_user()
    api.post(f"/admin/users/{user['id']}/deactivate", token=admin_token)
    page = admin_browser.get("/admin/audit").get_data(as_text=True)
    deactivated = next(r for r in rows(page) if "admin.user_deactivated" in r)
    assert "管理员停用了账户" in deactivated
    with app.app_context():
        boss_id = db.session.execute(db.select(AuditEvent.actor_id).filter_by(
            event="admin.user_deactivated")).scalar_one()
    assert f'<a href="/admin/users/{boss_id}">boss</a>' in deactivated
    confirmed = next(r for r in rows(page) if "register.confirmed" in r)
    assert "注册完成" in confirmed
    assert "invite=False" not in page and "=None" not in page  # no raw Python values
    assert "invite" not in confirmed.replace("register.confirmed", "")  # False says nothing: left out
    issued = next(r for r in rows(page) if "code.issued" in r)
    assert re.search(r"<dt>用途</dt><dd>注册</dd>", issued)
    english = admin_browser.get("/admin/audit", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Account deactivated by an admin" in english and re.search(r"<dt>For</dt><dd>registration</dd>", english)


def test_unknown_events_and_fields_show_their_raw_names(app, admin_browser):
    from authsvc.services import audit

    with app.app_context():
        audit.record("custom.thing", detail={"colour": "blue", "expire_date": None, "invite": False,
                                             "expires_at": "2030-01-01T00:00:00Z"})
    row = next(r for r in rows(admin_browser.get("/admin/audit").get_data(as_text=True)) if "custom.thing" in r)
    assert "<dt>colour</dt><dd>blue</dd>" in row and "expire_date" not in row and "invite" not in row
    assert "<dt>结束日期</dt><dd>2030-01-01 08:00 (UTC+8)</dd>" in row


def test_audit_dates_are_validated_with_a_clear_message(admin_browser, api, admin_token):
    page = admin_browser.get("/admin/audit?since=2026-05-02&until=2026-05-01")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "“截止”早于“起始”" in text
    assert re.search(r'id="until"[^>]*aria-invalid="true"[^>]*aria-describedby="until-errors"', text)
    bad = admin_browser.get("/admin/audit?since=yesterday").get_data(as_text=True)
    assert re.search(r'id="since-errors"><li>请使用 2026-01-31 这样的日期格式', bad)
    refused = api.get("/admin/audit?since=2026-05-02&until=2026-05-01", token=admin_token,
                      headers={"Accept-Language": "en"})
    assert refused.status_code == 400
    assert "“Until” is before “From”" in refused.get_json()["error"]["fields"]["until"][0]
    same_day = api.get("/admin/audit?since=2026-05-01&until=2026-05-01", token=admin_token)
    assert same_day.status_code == 200  # a one-day range


def test_csv_export_starts_with_a_byte_order_mark_and_keeps_chinese(app, admin_browser, api, admin_token):
    from authsvc.services import audit

    with app.app_context():
        audit.record("ip.blocked", detail={"reason": "刷验证码"})
    for fetch in (lambda: admin_browser.get("/admin/audit?format=csv"),
                  lambda: api.get("/admin/audit?format=csv", token=admin_token)):
        response = fetch()  # each streamed answer is read to its end before the next request
        assert response.status_code == 200 and response.is_streamed
        raw = response.get_data()
        assert raw.startswith(b"\xef\xbb\xbfid,at,event,")
        assert "刷验证码" in raw.decode("utf-8-sig")
        assert raw.count(b"\xef\xbb\xbf") == 1


def test_the_user_list_shows_locked_accounts(make_service):
    service = make_service(LOGIN_CAPTCHA="never")
    service.register_user()
    service.register_user(email="bob@example.com", username="bob")
    for _ in range(5):
        service.api.post("/sessions", json={"login": "alice", "password": "wrong password!"})
    create_admin(service.app)
    sign_in(service.browser, name="boss", password=ADMIN_PASSWORD)
    page = service.browser.get("/admin/users").get_data(as_text=True)
    alice = next(r for r in rows(page) if ">alice<" in r)
    bob = next(r for r in rows(page) if ">bob<" in r)
    assert '<span class="badge bad">已锁定</span>' in alice
    assert "已锁定" not in bob


def test_danger_actions_are_marked_and_ask_first(app, admin_browser, register_user):
    user, _token = register_user()
    admin_browser.submit("/admin/invites", {"count": 1, "uses": 1, "expires": "", "code": ""})
    invites = admin_browser.get("/admin/invites").get_data(as_text=True)
    assert re.search(r'<form[^>]*/disable"[^>]*data-confirm="[^"]+">.*?<button type="submit" class="danger">',
                     invites, re.S)
    detail = admin_browser.get(f"/admin/users/{user['id']}").get_data(as_text=True)
    for action in ("deactivate", "clear-codes"):
        assert re.search(rf'<form[^>]*/{action}"[^>]*data-confirm="[^"]+">.*?class="danger"', detail, re.S), action


def test_an_admin_clears_a_users_pending_codes(app, api, admin_token, register_user, mailbox, admin_browser):
    user, token = register_user()
    mailbox.server.clear()
    api.post("/login-codes", json={"email": "alice@example.com", **api.captcha()})
    login_code = mailbox.code("alice@example.com")
    mailbox.server.clear()
    api.post("/password-resets", json={"email": "alice@example.com", **api.captcha()})
    reset_code = mailbox.code("alice@example.com")
    cleared = api.post(f"/admin/users/{user['id']}/clear-codes", token=admin_token)
    assert cleared.status_code == 200 and cleared.get_json()["id"] == user["id"]
    signin = api.post("/sessions/code", json={"email": "alice@example.com", "code": login_code})
    assert signin.status_code == 400 and signin.get_json()["error"]["code"] == "code_expired"
    reset = api.post("/password-resets/confirm", json={"email": "alice@example.com", "code": reset_code,
                                                        "new_password": "another fine passphrase"})
    assert reset.status_code == 400 and reset.get_json()["error"]["code"] == "code_expired"
    # the page's button: a change-email code goes too
    api.post("/me/email", token=token, json={"password": PASSWORD, "new_email": "new@example.com"})
    page = admin_browser.submit(f"/admin/users/{user['id']}/clear-codes", {}, page=f"/admin/users/{user['id']}")
    assert page.status_code == 302
    assert "已清除该账户的待用验证码" in admin_browser.get(f"/admin/users/{user['id']}").get_data(as_text=True)
    with app.app_context():
        details = [e.detail for e in db.session.execute(db.select(AuditEvent).filter_by(
            event="admin.codes_cleared").order_by(AuditEvent.id)).scalars()]
    assert details == [{"cleared": 2}, {"cleared": 1}]


def test_invite_count_zero_is_an_error_everywhere(app, api, admin_token, admin_browser):
    page = admin_browser.submit("/admin/invites", {"count": 0, "uses": 1, "expires": "", "code": ""})
    assert page.status_code == 422 and "每次可创建 1 到 500 个邀请码" in page.get_data(as_text=True)
    answer = api.post("/admin/invites", json={"count": 0}, token=admin_token)
    assert answer.status_code in (400, 422) and "count" in answer.get_json()["error"]["fields"]
    cli = app.test_cli_runner().invoke(args=["invites", "create", "--count", "0"])
    assert cli.exit_code != 0 and "count" in cli.output
    with app.app_context():
        assert db.session.query(InviteCode).count() == 0


def test_invite_codes_are_plain_text_with_a_copy_button_for_scripts(admin_browser):
    admin_browser.submit("/admin/invites", {"count": 1, "uses": 1, "expires": "", "code": "TEAM-2030"})
    page = admin_browser.get("/admin/invites").get_data(as_text=True)
    assert '<code id="invite-1">TEAM-2030</code>' in page
    assert re.search(r'<button type="button" class="secondary copy" data-copy="invite-1"[^>]*'
                     r'aria-label="复制邀请码 TEAM-2030" hidden>复制</button>', page)
    assert "/static/js/copy.js" in page and 'role="status"' in page


def test_admin_tables_label_every_cell_for_phones(app, admin_browser, register_user):
    register_user()
    admin_browser.submit("/admin/invites", {"count": 1, "uses": 1, "expires": "", "code": ""})
    for path in ("/admin/users", "/admin/invites", "/admin/audit", "/admin/ip-blocks"):
        page = admin_browser.get(path).get_data(as_text=True)
        assert 'class="list cards' in page, path
        for row in rows(page)[1:]:
            cells = re.findall(r"<td( [^>]*)?>", row)
            if len(cells) > 1:
                labelled = [c for c in cells if c and "data-label" in c]
                assert len(labelled) >= len(cells) - 1, (path, row)  # all but an actions cell
