"""Rules live in services, so every skin (pages, API, CLI) gets them (issue 12, part 2).

Each test shows a rule that one skin used to forget or decide differently.
"""

from datetime import timedelta

from authsvc.extensions import db
from authsvc.models import AuditEvent, InviteCode, User, utcnow

from .test_recovery import NEW, request_reset


def _events(app, name):
    with app.app_context():
        return [e.detail for e in db.session.query(AuditEvent).filter_by(event=name).all()]


def test_a_reset_that_signs_in_over_the_api_is_a_recorded_sign_in(make_service):
    # The pages recorded the sign-in (last login, audit, metrics); the API forgot.
    service = make_service(AUTO_LOGIN_AFTER_RESET=True)
    service.register_user()
    with service.app.app_context():
        db.session.query(User).update({"last_login_at": utcnow() - timedelta(days=3)})
        db.session.commit()
    before = len(_events(service.app, "login.success"))
    request_reset(service.api)
    done = service.api.post("/password-resets/confirm", json={
        "email": "alice@example.com", "code": service.mailbox.code("alice@example.com"), "new_password": NEW})
    assert done.status_code == 200 and done.get_json()["token"]
    after = _events(service.app, "login.success")
    assert len(after) == before + 1 and after[-1] == {"method": "reset"}
    with service.app.app_context():
        assert db.session.query(User).one().last_login_at > utcnow() - timedelta(minutes=1)


def test_the_invite_status_filter_is_applied_before_the_limit(app, api, admin_token):
    # The API filtered status in Python after fetching the newest 1000: an active code older
    # than 1000 disabled ones was not listed as active at all.
    with app.app_context():
        db.session.add(InviteCode(code="OLDEST-ACTIVE", all_cnt=3))
        db.session.flush()
        db.session.execute(InviteCode.__table__.insert(), [
            {"code": f"DISABLED-{i:05d}", "all_cnt": 1, "used_cnt": 0, "disabled": True,
             "created_at": utcnow()} for i in range(1001)])
        db.session.add_all([InviteCode(code="EXPIRED-ONE", all_cnt=1, expire_date=utcnow() - timedelta(days=1)),
                            InviteCode(code="FULL-ONE", all_cnt=1, used_cnt=1)])
        db.session.commit()
    listed = api.get("/admin/invites", token=admin_token, query_string={"status": "active"}).get_json()
    assert [i["code"] for i in listed["items"]] == ["OLDEST-ACTIVE"]
    for status, code in (("expired", "EXPIRED-ONE"), ("full", "FULL-ONE")):
        items = api.get("/admin/invites", token=admin_token, query_string={"status": status}).get_json()["items"]
        assert [i["code"] for i in items] == [code]
    wrong = api.get("/admin/invites", token=admin_token, query_string={"status": "everything"})
    assert wrong.status_code == 400 and "status" in wrong.get_json()["error"]["fields"]


def test_every_way_of_changing_the_new_device_notice_is_audited(make_service, register_user):
    service = make_service(NOTIFY_NEW_DEVICE=True)
    _user, token = service.register_user()
    assert service.api.post("/me/notifications", json={"new_device": False}, token=token).status_code == 200
    assert service.api.post("/me/notifications", json={"new_device": True}, token=token).status_code == 200
    assert _events(service.app, "notifications.changed") == [
        {"new_device": False, "via": "settings"}, {"new_device": True, "via": "settings"}]


def test_ending_a_session_audits_itself_in_both_skins(app, api, register_user):
    _user, first = register_user()
    second = api.post("/sessions", json={"login": "alice", "password": "correct horse battery"}).get_json()["token"]
    other = next(s for s in api.get("/me/sessions", token=second).get_json()["items"] if not s["current"])
    assert api.delete(f"/me/sessions/{other['id']}", token=second).status_code == 204
    assert api.delete("/sessions/current", token=second).status_code == 204
    assert _events(app, "session.ended") == [{"kind": "api"}]
    assert {"kind": "api"} in _events(app, "logout")
