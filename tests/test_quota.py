"""Each provider's daily quota: at the primary's quota new mail goes to the fallback; without
a fallback it waits in the queue (never offered to the provider that would refuse it); 80 %
raises the alert; the dashboard and mail-stats show today's use."""

import time

import pytest

from authsvc.services import mail
from authsvc.services.alerts import conditions

from .support import ADMIN_PASSWORD, Mailbox, SMTPServer, create_admin
from .test_sessions_web import sign_in
from .test_audit import admin_token
from .test_delivery import FAST_RETRIES, figures, queue, with_fallback


@pytest.fixture
def fallback():
    server = SMTPServer().start()
    yield server
    server.stop()


def test_at_the_quota_new_mail_goes_to_the_fallback(make_service, fallback):
    service = make_service(MAIL_DAILY_QUOTA=2, **with_fallback(fallback))
    primary = service.mailbox.server.recorder
    queue(service.app, n=5)
    assert service.mailbox.deliver() == ["sent"] * 5
    assert len(primary.messages) == 2 and primary.attempts == 2  # the primary was never asked for a third
    assert len(fallback.recorder.messages) == 3
    assert {m["from"] for m in fallback.recorder.messages} == {"backup@accounts.example.com"}
    assert figures(service.app)["fell_back"] == 3
    stats = service.api.get("/admin/mail-stats", token=admin_token(service.app, service.api)).get_json()
    assert stats["today"]["primary"] == {"sent": 2, "quota": 2, "used_ratio": 1.0}
    assert stats["today"]["fallback"] == {"sent": 3, "quota": None, "used_ratio": None}


def test_the_fallback_has_its_own_quota_and_then_mail_waits(make_service, fallback):
    service = make_service(MAIL_DAILY_QUOTA=1, MAIL_FALLBACK_DAILY_QUOTA=1, **FAST_RETRIES, **with_fallback(fallback))
    queue(service.app, n=3)
    assert service.mailbox.deliver() == ["sent", "sent", "retry"]
    assert len(service.mailbox.server.recorder.messages) == 1 and len(fallback.recorder.messages) == 1
    with service.app.app_context():
        assert mail.queue_depth() == 1 and mail.overview()["dead_letters"]["count"] == 0


def test_without_a_fallback_mail_waits_in_the_queue_until_the_quota_allows(make_service, make_app, smtp_server):
    service = make_service(MAIL_DAILY_QUOTA=1, **FAST_RETRIES)
    recorder = service.mailbox.server.recorder
    queue(service.app, to="alice@example.com")
    queue(service.app, to="bob@example.com")
    assert service.mailbox.deliver() == ["sent", "retry"]
    assert recorder.attempts == 1  # the second mail never reached the server that would refuse it
    time.sleep(0.3)
    assert service.mailbox.deliver() == ["retry"]  # still waiting, retried as any failed mail
    assert recorder.attempts == 1
    with service.app.app_context():
        assert mail.queue_depth() == 1
        assert mail.overview()["dead_letters"]["count"] == 0
    # the quota allows more (a new day, or the operator raised it): the waiting mail goes
    raised = make_app(MAIL_DAILY_QUOTA=2, **FAST_RETRIES)
    outcomes = Mailbox(raised, smtp_server).deliver_all(timeout=10)
    assert outcomes[-1] == "sent"
    assert [m["to"] for m in recorder.messages] == [["alice@example.com"], ["bob@example.com"]]


def test_a_mail_that_waited_past_its_deadline_is_a_dead_letter_saying_why(make_service):
    service = make_service(MAIL_DAILY_QUOTA=1, MAIL_RETRY_MAX_DELAY=1, **FAST_RETRIES)
    queue(service.app)
    with service.app.test_request_context():
        mail.queue_mail("test", "bob@example.com", {}, ttl=2)
    outcomes = service.mailbox.deliver_all(timeout=10)
    assert outcomes[0] == "sent" and outcomes[-1] == "failed"
    with service.app.app_context():
        [record] = mail.overview()["dead_letters"]["recent"]
    assert record["reason"] == "primary: daily quota reached"


def test_eighty_percent_of_the_quota_raises_the_alert(make_service):
    service = make_service(MAIL_DAILY_QUOTA=5)
    queue(service.app, n=3)
    service.mailbox.deliver()
    with service.app.app_context():
        assert "quota:primary" not in conditions.firing()  # 60 %
    queue(service.app)
    service.mailbox.deliver()
    with service.app.app_context():
        name, params = conditions.firing()["quota:primary"]  # 80 %
    assert name == "AuthsvcMailQuotaHigh" and params == {"provider": "primary", "sent": 4, "quota": 5, "ratio": 0.8}
    served = service.app.test_client().get("/metrics").get_data(as_text=True)
    assert 'authsvc_mail_quota_used_ratio{provider="primary"} 0.8' in served


def test_the_dashboard_shows_todays_use_and_the_quota(make_service):
    service = make_service(MAIL_DAILY_QUOTA=400, METRICS_PUBLIC=True)
    queue(service.app, n=3)
    service.mailbox.deliver()
    create_admin(service.app)
    sign_in(service.browser, name="boss", password=ADMIN_PASSWORD)
    page = service.browser.get("/admin", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Today's sends and daily quota" in page
    assert "<b>3 / 400</b>Primary server · 1%" in page
    assert "<b>0</b>Fallback server · no quota" in page
