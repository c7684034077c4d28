"""Audit log: written for every flow (with IP and user agent, never a secret), filters, CSV, prune."""

import csv
import io
import json
from datetime import timedelta

from authsvc.extensions import db
from authsvc.models import AuditEvent, utcnow

from .support import ADMIN_PASSWORD, create_admin

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PASSWORD = "correct horse battery"


def admin_token(app, api, headers=None):
    create_admin(app)
    return api.post("/sessions", json={"login": "boss", "password": ADMIN_PASSWORD},
                    headers=headers).get_json()["token"]


def events(app):
    with app.app_context():
        return [e.to_dict() for e in db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id)).scalars()]


def test_every_flow_is_audited_without_secrets(make_service):
    service = make_service(RESEND_COOLDOWN=0, LOGIN_CAPTCHA="never")
    api, mailbox = service.api, service.mailbox
    headers = {"User-Agent": UA}
    api.register(headers=headers, ip="203.0.113.5")
    code = mailbox.code("alice@example.com")
    wrong = "000000" if code != "000000" else "111111"
    api.confirm_registration("alice@example.com", wrong,
             headers=headers, ip="203.0.113.5")
    token = api.confirm_registration("alice@example.com", code,
                     headers=headers, ip="203.0.113.5").get_json()["token"]
    for _ in range(5):
        api.post("/sessions", json={"login": "alice", "password": "wrong password!"}, headers=headers)
    api.post("/password-resets", json={"email": "alice@example.com", **api.captcha()}, headers=headers)
    reset_code = mailbox.code("alice@example.com")
    api.post("/password-resets/confirm", json={"email": "alice@example.com", "code": reset_code,
                                               "new_password": "another fine passphrase"}, headers=headers)
    token = api.post("/sessions", json={"login": "alice", "password": "another fine passphrase"},
                     headers=headers).get_json()["token"]
    api.post("/me/password", json={"current_password": "another fine passphrase",
                                   "new_password": "yet another passphrase"}, token=token, headers=headers)
    api.post("/me/email", json={"password": "yet another passphrase", "new_email": "new@example.com"},
             token=token, headers=headers)
    api.post("/me/email/confirm", json={"code": mailbox.code("new@example.com")}, token=token, headers=headers)
    api.delete("/sessions/current", token=token, headers=headers)
    admin = admin_token(service.app, api, headers=headers)
    api.post("/admin/users/1/deactivate", token=admin, headers=headers)

    recorded = events(service.app)
    names = {e["event"] for e in recorded}
    for expected in ("register.requested", "register.confirmed", "code.issued", "code.verified", "code.failed",
                     "login.failure", "login.locked", "login.success", "password.reset_requested",
                     "password.reset", "password.changed", "email.change_requested", "email.changed",
                     "logout", "admin.created", "admin.user_deactivated"):
        assert expected in names, expected
    missing = [e["event"] for e in recorded if e["event"] != "admin.created"  # CLI: no request
               and not (e["ip"] and e["user_agent"] == UA)]
    assert not missing, missing
    assert any(e["ip"] == "203.0.113.5" for e in recorded)
    deactivation = next(e for e in recorded if e["event"] == "admin.user_deactivated")
    assert deactivation["actor_id"] and deactivation["user_id"] == 1
    blob = json.dumps(recorded)
    for secret in (code, reset_code, PASSWORD, "another fine passphrase", token):
        assert secret not in blob
    assert all(e["detail"].get("purpose") for e in recorded if e["event"].startswith("code."))


def test_filters_and_pagination(app, api, register_user):
    register_user()
    register_user(email="bob@example.com", username="bob")
    api.post("/sessions", json={"login": "bob", "password": "nope nope"}, ip="198.51.100.77")
    token = admin_token(app, api)
    by_event = api.get("/admin/audit?event=login.failure", token=token).get_json()
    assert by_event["total"] == 1 and by_event["items"][0]["email"] == "bob@example.com"
    by_prefix = api.get("/admin/audit?event=register.", token=token).get_json()
    assert {i["event"] for i in by_prefix["items"]} == {"register.requested", "register.confirmed"}
    assert api.get("/admin/audit?ip=198.51.100.77", token=token).get_json()["total"] == 1
    assert api.get("/admin/audit?email=BOB@example.com", token=token).get_json()["total"] >= 3
    today = utcnow().date().isoformat()
    assert api.get(f"/admin/audit?since={today}&until={today}", token=token).get_json()["total"] > 5
    assert api.get("/admin/audit?until=2000-01-01", token=token).get_json()["total"] == 0
    page = api.get("/admin/audit?per_page=2&page=2", token=token).get_json()
    assert len(page["items"]) == 2 and page["page"] == 2
    bad = api.get("/admin/audit?since=yesterday", token=token)
    assert bad.status_code == 400 and "since" in bad.get_json()["error"]["fields"]


def test_csv_export_is_streamed_and_safe(app, api, register_user):
    register_user()
    api.post("/sessions", json={"login": "=cmd|' /C calc'!A0", "password": "nope nope"})
    token = admin_token(app, api)
    response = api.get("/admin/audit?format=csv", token=token)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    # read as Excel and Python's csv with utf-8-sig do: the byte order mark is not a character
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:4] == ["id", "at", "event", "outcome"]
    assert len(rows) - 1 == api.get("/admin/audit", token=token).get_json()["total"]
    assert not any(cell.startswith("=") for row in rows[1:] for cell in row)
    details = [json.loads(row[-1]) for row in rows[1:] if row[-1]]  # JSON, as in the API
    assert details and all(isinstance(detail, dict) for detail in details)


def test_csv_export_of_many_events(app, api):
    token = admin_token(app, api)
    with app.app_context():
        db.session.add_all([AuditEvent(event="login.failure", outcome="failure", email=f"u{i}@example.com")
                            for i in range(1234)])
        db.session.commit()
    rows = api.get("/admin/audit?format=csv&event=login.failure", token=token).get_data(as_text=True).splitlines()
    assert len(rows) == 1235


def test_prune_old_events(app):
    with app.app_context():
        db.session.add_all([AuditEvent(event="login.success", outcome="success", at=utcnow() - timedelta(days=200)),
                            AuditEvent(event="login.success", outcome="success", at=utcnow() - timedelta(days=10))])
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "prune", "--older-than", "180d"])
    assert result.exit_code == 0 and "deleted 1 events" in result.output
    remaining = events(app)
    assert [e["event"] for e in remaining] == ["login.success", "audit.pruned"]
    assert remaining[1]["detail"]["deleted"] == 1
    bad = app.test_cli_runner().invoke(args=["audit", "prune", "--older-than", "soon"])
    assert bad.exit_code != 0


def test_dashboard_counts(app, api, register_user, mailbox):
    register_user()
    api.post("/sessions", json={"login": "alice", "password": "nope nope"})
    api.post("/sessions", json={"login": "alice", "password": PASSWORD})
    token = admin_token(app, api)
    figures = api.get("/admin/dashboard", token=token).get_json()
    today = figures["today"]
    assert today["registrations"] == 1 and today["login_failures"] == 1 and today["logins"] >= 2
    assert today["codes_sent"] == 1 and today["codes_used"] == 1 and today["code_usage_rate"] == 1.0
    assert figures["7d"]["registrations"] == 1 and figures["users"] == 2


def test_audit_log_lines_escape_crlf(make_app, capfd):
    from authsvc.services import audit

    app = make_app(LOG_LEVEL="INFO")
    forged = 'x@example.com\r\n{"audit": "forged", "outcome": "success"}'
    with app.test_request_context("/", headers={"User-Agent": "ua\twith\ttabs"}):
        audit.record("login.failure", "failure", email=forged, detail={"note": "a\nb"})
    lines = [line for line in capfd.readouterr().err.splitlines() if "authsvc.audit" in line]
    assert len(lines) == 1  # one event, one line
    parsed = json.loads(lines[0])
    assert parsed["logger"] == "authsvc.audit" and "forged" in parsed["msg"]
    assert json.loads(parsed["msg"])["email"] == forged
