"""`flask --app wsgi report daily|weekly` mails the day figures as a table with a chart (a PNG
inside the mail); the workers send each report once per period however many run."""

import io
import re
import threading
import time
from datetime import datetime, timedelta

from PIL import Image

from authsvc.extensions import db
from authsvc.models import DailyFigure, User
from authsvc.services import reports
from authsvc.services.mail import MailWorker
from authsvc.timefmt import local_day

from .support import html_of, text_of, wait_until

OPS = "ops@example.com"


def table(message):
    """{row label: [cells]} of the report's HTML table (its header row under "header")."""
    html = html_of(message)
    body = html[html.index("<thead>"):html.index("</tbody>")]
    rows = {}
    for index, row in enumerate(re.findall(r"<tr>(.*?)</tr>", body, re.S)):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        rows["header" if index == 0 else cells[0]] = cells[1:]
    return rows


def chart_of(message):
    [image] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<chart@authsvc>" and "cid:chart@authsvc" in html_of(message)
    assert message.get_content_type() == "multipart/mixed"
    return Image.open(io.BytesIO(image.get_payload(decode=True)))


def today(app):
    with app.app_context():
        return local_day()


def test_report_daily_mails_the_days_figures_as_a_table_and_a_chart(make_service):
    service = make_service(REPORT_EMAILS=f"{OPS}, boss@example.com")
    service.register_user()  # a registration, a code issued, mailed and used
    service.api.post("/sessions", json={"login": "alice", "password": "wrong wrong"})
    day = today(service.app).isoformat()
    result = service.app.test_cli_runner().invoke(args=["report", "daily", "--day", day])
    assert result.exit_code == 0 and f"({day} to {day}) for 2 address(es)" in result.output, result.output
    message = service.mailbox.last(OPS)
    assert message["subject"] == f"【运行报告】authsvc 日报：{day}"
    rows = table(message)
    assert rows["注册"] == ["1"] and rows["已生成验证码"] == ["1"] and rows["已发出验证码"] == ["1"]
    assert rows["header"] == [day]
    assert rows["验证码使用率（按已发出的计）"] == ["100 %"]
    assert rows["已发送邮件"] == ["1"] and rows["… 经主邮件服务器"] == ["1"]
    assert chart_of(message).size == (560, 200)
    assert "已发送邮件: 1" in text_of(message)
    assert len(service.mailbox.messages("boss@example.com")) == 1


def test_an_operator_with_an_english_account_reads_it_in_english(make_service):
    service = make_service(REPORT_EMAILS="alice@example.com")
    service.register_user()
    with service.app.app_context():
        db.session.execute(db.update(User).values(locale="en"))
        db.session.commit()
    assert service.app.test_cli_runner().invoke(args=["report", "daily", "--day", today(service.app).isoformat()]).exit_code == 0
    message = service.mailbox.last("alice@example.com")
    assert message["subject"].startswith("[Report] Daily report of authsvc for ")
    rows = table(message)
    assert rows["Registrations"] == ["1"] and rows["Code usage rate (of codes mailed)"] == ["100 %"]


def test_report_weekly_has_a_column_per_day_and_the_totals(make_service):
    service = make_service(REPORT_EMAILS=OPS)
    last = today(service.app) - timedelta(days=1)
    with service.app.app_context():
        for n in range(7):
            db.session.add(DailyFigure(day=last - timedelta(days=n), name="mail.sent.primary", value=10 + n))
            db.session.add(DailyFigure(day=last - timedelta(days=n), name="codes.mailed", value=4))
            db.session.add(DailyFigure(day=last - timedelta(days=n), name="codes.used", value=3))
        db.session.add(DailyFigure(day=last - timedelta(days=7), name="mail.sent.primary", value=1000))  # not this week
        db.session.commit()
    result = service.app.test_cli_runner().invoke(args=["report", "weekly"])  # the 7 days up to yesterday
    assert result.exit_code == 0, result.output
    message = service.mailbox.last(OPS)
    rows = table(message)
    assert rows["已发送邮件"] == [str(10 + n) for n in reversed(range(7))] + [str(sum(range(10, 17)))]
    assert rows["验证码使用率（按已发出的计）"] == ["75 %"] * 8
    assert f"{(last - timedelta(days=6)).isoformat()} 至 {last.isoformat()}" in message["subject"]
    chart_of(message)


def test_without_report_emails_the_command_says_so(runner):
    result = runner.invoke(args=["report", "daily"])
    assert result.exit_code != 0 and "REPORT_EMAILS is empty" in result.output


def test_two_running_workers_send_the_due_daily_report_once(make_service):
    service = make_service(REPORT_EMAILS=OPS, REPORT_DAILY_AT=0, FIGURES_SAVE_EVERY=1)
    workers = [MailWorker(service.app, worker_id=f"w{n}") for n in range(2)]
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    try:
        recorder = service.mailbox.server.recorder
        expected = 2 if today(service.app).weekday() == 0 else 1  # on Mondays the weekly one too
        assert wait_until(lambda: len(recorder.messages) >= expected, timeout=15)
        time.sleep(3)  # several periods later, still once
    finally:
        for worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(timeout=10)
    yesterday = (today(service.app) - timedelta(days=1)).isoformat()
    subjects = [m["message"]["subject"] for m in recorder.messages]
    assert len(subjects) == expected and f"日报：{yesterday}" in subjects[0], subjects


def test_schedule_daily_at_the_hour_weekly_on_monday_once_across_workers(make_service):
    service = make_service(REPORT_EMAILS=OPS, REPORT_DAILY_AT=8)
    zone = datetime.now().astimezone().tzinfo
    monday_7 = datetime(2026, 11, 30, 7, 59, tzinfo=zone)
    monday_9 = datetime(2026, 11, 30, 9, 0, tzinfo=zone)
    sent = []

    def worker():
        with service.app.app_context():
            sent.extend(reports.send_due(monday_7))
            sent.extend(reports.send_due(monday_9))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sent) == [("daily", "2026-11-29"), ("weekly", "2026-11-29")]
    with service.app.app_context():
        assert reports.send_due(monday_9 + timedelta(hours=5)) == []  # later the same day: nothing again
        assert reports.send_due(monday_9 + timedelta(days=1)) == [("daily", "2026-11-30")]  # Tuesday: daily only
    subjects = [m["message"]["subject"] for m in service.mailbox.messages(OPS)]
    assert sorted(subjects) == sorted(["【运行报告】authsvc 日报：2026-11-29", "【运行报告】authsvc 周报：2026-11-23 至 2026-11-29",
                                       "【运行报告】authsvc 日报：2026-11-30"])
