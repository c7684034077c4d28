"""Flask CLI commands an operator uses."""

from authsvc.services import mail

from .support import free_port, wait_until


def test_invites_create_and_list(runner):
    created = runner.invoke(args=["invites", "create", "--count", "3", "--uses", "5", "--expires", "2099-01-31"])
    assert created.exit_code == 0, created.output
    codes = created.output.split()
    assert len(codes) == 3 and all(len(c) == 19 for c in codes)
    listed = runner.invoke(args=["invites", "list"])
    for code in codes:  # the last day on which the code works: the date the operator typed
        assert f"{code}\t0/5\tactive\t2099-01-31" in listed.output


def test_invites_create_rejects_bad_input(runner):
    assert runner.invoke(args=["invites", "create", "--count", "0"]).exit_code != 0
    assert runner.invoke(args=["invites", "create", "--expires", "someday"]).exit_code != 0
    assert runner.invoke(args=["invites", "create", "--expires", "2001-01-01"]).exit_code != 0


def test_send_test_mail(runner, smtp_server):
    result = runner.invoke(args=["send-test-mail", "ops@example.com"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("delivered: accepted by the primary SMTP server")
    assert any(m["to"] == ["ops@example.com"] for m in smtp_server.recorder.messages)


def test_send_test_mail_reports_a_refusing_server(runner, smtp_server):
    smtp_server.recorder.refuse_with = "550 5.1.1 mailbox unavailable"
    result = runner.invoke(args=["send-test-mail", "ops@example.com"])
    assert result.exit_code == 1
    assert "not accepted (rejected): primary: recipient refused [550]" in result.output


def test_send_test_mail_reports_an_unreachable_server_as_still_queued(make_app):
    app = make_app(MAIL_PORT=free_port())  # nothing listens there
    result = app.test_cli_runner().invoke(args=["send-test-mail", "ops@example.com"])
    assert result.exit_code == 1
    assert "not accepted yet: primary: ConnectionRefusedError" in result.output
    assert "still queued, the worker tries again in 5 s" in result.output
    with app.app_context():
        assert mail.queue_depth() == 1


def test_send_test_mail_reports_what_a_running_worker_did(app, runner, smtp_server):
    """With the dev server up, its embedded worker (blocked on the queue) takes the message
    the moment it is queued: the command reports that worker's delivery, not "nothing"."""
    worker = mail.start_embedded(app)
    try:
        assert wait_until(lambda: _blocked_on_queue(app), timeout=10)
        result = runner.invoke(args=["send-test-mail", "ops@example.com"])
    finally:
        worker.stop()
        worker.thread.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert f"delivered: accepted by the primary SMTP server (worker {worker.worker_id})" in result.output
    assert [m["to"] for m in smtp_server.recorder.messages] == [["ops@example.com"]]


def _blocked_on_queue(app):
    with app.app_context():
        clients = app.extensions["authsvc.redis"].client_list()
    return any(c["cmd"] == "blmove" for c in clients)


def test_mail_worker_once(app, runner, smtp_server):
    with app.test_request_context():
        mail.queue_mail("test", "queued@example.com", {})
    result = runner.invoke(args=["mail-worker", "--once"])
    assert result.exit_code == 0 and "sent" in result.output
    assert any(m["to"] == ["queued@example.com"] for m in smtp_server.recorder.messages)
