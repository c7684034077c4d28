"""Flask CLI commands an operator uses."""

from authsvc.services import mail


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
    assert "sent" in result.output
    assert any(m["to"] == ["ops@example.com"] for m in smtp_server.recorder.messages)


def test_send_test_mail_reports_a_refusing_server(runner, smtp_server):
    smtp_server.recorder.refuse_with = "550 5.1.1 mailbox unavailable"
    result = runner.invoke(args=["send-test-mail", "ops@example.com"])
    assert result.exit_code != 0 and "not accepted" in result.output


def test_mail_worker_once(app, runner, smtp_server):
    with app.test_request_context():
        mail.queue_mail("test", "queued@example.com", {})
    result = runner.invoke(args=["mail-worker", "--once"])
    assert result.exit_code == 0 and "sent" in result.output
    assert any(m["to"] == ["queued@example.com"] for m in smtp_server.recorder.messages)
