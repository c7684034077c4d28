"""Per-day figures: counted as things happen, copied into the database by the running worker
(not by requests), read back by the dashboard; the code-usage rate counts only mailed codes."""

import threading

from sqlalchemy import select

from authsvc.extensions import db
from authsvc.models import DailyFigure
from authsvc.services.mail import MailWorker
from authsvc.timefmt import local_day

from .support import free_port, wait_until
from .test_audit import admin_token
from .test_signin_api import PASSWORD


def stored(app):
    with app.app_context():
        rows = db.session.execute(select(DailyFigure.day, DailyFigure.name, DailyFigure.value)).all()
        db.session.remove()
    return {(day, name): value for day, name, value in rows}


def test_the_running_worker_fills_the_figures_table(make_service):
    service = make_service(FIGURES_SAVE_EVERY=1, LOGIN_LOCKOUT_THRESHOLD=2, SEND_LIMIT_PER_EMAIL="1 per 5 minutes")
    api = service.api
    service.register_user()  # a code issued, mailed and used; a registration
    assert api.post("/sessions", json={"login": "alice", "password": PASSWORD}).status_code == 200
    for _ in range(2):  # the second wrong password locks the account
        api.post("/sessions", json={"login": "alice", "password": "wrong wrong"})
    api.post("/login-codes", json={"email": "nobody@example.com", **api.captcha()})  # issued, never mailed
    refused = api.post("/login-codes", json={"email": "nobody@example.com", **api.captcha()})
    assert refused.status_code == 429  # the send limit: one limited code send
    assert stored(service.app) == {}  # requests count in Redis only; the database is the worker's

    with service.app.app_context():
        day = local_day()
    worker = MailWorker(service.app, worker_id="figures-worker")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        # it delivers the lockout notice and copies the day's figures (once a second here)
        assert wait_until(lambda: stored(service.app).get((day, "mail.sent.primary")) == 2, timeout=15)
    finally:
        worker.stop()
        thread.join(timeout=10)
    today = {name: value for (d, name), value in stored(service.app).items() if d == day}
    assert today["registrations"] == 1 and today["sign_ins"] == 1 and today["lockouts"] == 1
    assert today["codes.issued"] == 2 and today["codes.mailed"] == 1 and today["codes.used"] == 1
    assert today["mail.sent.primary"] == 2  # the code and the lockout notice
    assert today["limited.send"] == 1 and today["sign_in_failures"] == 2


def test_failures_are_counted_by_reason(make_service):
    service = make_service(MAIL_PORT=free_port(), MAIL_RETRY_DELAYS="0.1", MAIL_CIRCUIT_THRESHOLD=1000)
    with service.app.test_request_context():
        from authsvc.services import mail

        mail.queue_mail("test", "alice@example.com", {})
    assert service.mailbox.deliver() == ["retry"]
    with service.app.app_context():
        from authsvc.services import daily

        figures = daily.totals(*daily.window(1))
    assert figures["mail.failed.connection"] == 1 and figures["mail.retried"] == 1
    assert figures.get("mail.sent.primary", 0) == 0  # the reserved send was given back


def test_the_code_usage_rate_counts_only_codes_that_were_mailed(app, api, register_user, mailbox):
    register_user()  # one code mailed and used
    for address in ("ghost1@example.com", "ghost2@example.com", "ghost3@example.com"):
        # sign-in codes for addresses without an account: issued (the answer is the same) but never mailed
        assert api.post("/login-codes", json={"email": address, **api.captcha()}).status_code == 202
    assert mailbox.deliver() == ["suppressed"] * 3
    today = api.get("/admin/dashboard", token=admin_token(app, api)).get_json()["today"]
    assert today["codes_sent"] == 4 and today["codes_mailed"] == 1 and today["codes_used"] == 1
    assert today["code_usage_rate"] == 1.0  # it was 0.25 when issued codes were counted
