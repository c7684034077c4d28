"""One rule for every time a person reads: DISPLAY_TIMEZONE, always labelled (issue 14).

Before, the account page showed "… UTC" and a bare date, the admin users page local time
without a label, the audit page UTC without a label, the dev outbox the raw Date: header and
mail "CST". Now all of them go through timefmt.display_time.
"""

import re
from datetime import datetime

from authsvc.extensions import db
from authsvc.models import AuditEvent, User
from authsvc.timefmt import display_time

from .support import ADMIN_PASSWORD, Browser, create_admin, text_of
from .test_sessions_web import sign_in

MOMENT = datetime(2026, 12, 2, 0, 40)  # UTC, as the database stores it
IN_KOLKATA = "2026-12-02 06:10 (UTC+5:30)"


def _times(html):
    return re.findall(r"\d{4}-\d{2}-\d{2}[^<]*", html)


def test_the_helper_labels_every_zone_and_every_input_kind(app):
    with app.test_request_context():
        assert display_time(MOMENT) == "2026-12-02 08:40 (UTC+8)"
        assert display_time("2026-12-02T00:40:00+00:00") == "2026-12-02 08:40 (UTC+8)"
        assert display_time("Wed, 02 Dec 2026 00:40:00 +0000") == "2026-12-02 08:40 (UTC+8)"
        assert display_time(1796172000) == "2026-12-02 08:40 (UTC+8)"  # a Unix time
        assert display_time(MOMENT, seconds=True) == "2026-12-02 08:40:00 (UTC+8)"
        assert display_time(None) == "–"
        app.config["DISPLAY_TIMEZONE"] = "America/St_Johns"
        assert display_time(MOMENT) == "2026-12-01 21:10 (UTC-3:30)"
        app.config["DISPLAY_TIMEZONE"] = "UTC"
        assert display_time(MOMENT) == "2026-12-02 00:40 (UTC)"


def test_account_admin_users_and_audit_pages_show_one_labelled_time(make_service):
    service = make_service(DISPLAY_TIMEZONE="Asia/Kolkata")
    app = service.app
    service.register_user()
    create_admin(app)
    with app.app_context():
        alice = db.session.execute(db.select(User).filter_by(username="alice")).scalar_one()
        alice.created_at = alice.password_changed_at = alice.last_login_at = MOMENT
        db.session.add(AuditEvent(at=MOMENT, event="test.moment", outcome="success", user_id=alice.id))
        db.session.commit()

    sign_in(service.browser)
    account = service.browser.get("/account").get_data(as_text=True)
    assert account.count(IN_KOLKATA) == 2, _times(account)  # member since, password changed
    assert " UTC<" not in account

    admin = Browser(app.test_client())
    sign_in(admin, "boss", ADMIN_PASSWORD)
    users = admin.get("/admin/users?q=alice").get_data(as_text=True)
    assert IN_KOLKATA in users, _times(users)  # member since (the last sign-in moved on)
    audit = admin.get("/admin/audit?event=test.moment").get_data(as_text=True)
    assert "2026-12-02 06:10:00 (UTC+5:30)" in audit, _times(audit)
    for html in (account, users, audit):
        for shown in _times(html):
            assert re.search(r"\(UTC[+-]\d+(:\d\d)?\)|\(UTC\)", shown), shown


def test_mail_times_are_labelled_in_the_display_timezone(make_service):
    service = make_service(DISPLAY_TIMEZONE="Asia/Kolkata")
    service.register_user()
    service.api.post("/login-codes", json={"email": "alice@example.com", **service.api.captcha()})
    text = text_of(service.mailbox.last("alice@example.com"))
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+5:30\)", text), text
    assert "IST" not in text and "CST" not in text


def test_the_dev_outbox_shows_the_date_header_in_the_display_timezone(make_app, tmp_path):
    app = make_app(AUTHSVC_ENV="development", SECRET_KEY=None, MAIL_SERVER=None,
                   CAPTCHA_FIXED_TEXT=None, CAPTCHA_ENABLED=False, INSTANCE_PATH=str(tmp_path))
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (outbox / "20261202-004000-x.eml").write_bytes(
        b"To: a@example.com\r\nSubject: hello\r\nDate: Wed, 02 Dec 2026 00:40:00 +0000\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n")
    client = app.test_client()
    listing = client.get("/dev/outbox").get_data(as_text=True)
    single = client.get("/dev/outbox/20261202-004000-x.eml").get_data(as_text=True)
    assert "2026-12-02 08:40 (UTC+8)" in listing and "2026-12-02 08:40 (UTC+8)" in single
    assert "+0000" not in listing + single
