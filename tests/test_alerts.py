"""deploy/prometheus/alerts.yml: valid, unit-tested with promtool, and built on figures that
/metrics really serves (the mail figures read from Redis, so they cover every worker)."""

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from authsvc.services import mail

RULES = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"
needs_promtool = pytest.mark.skipif(not shutil.which("promtool"),
                                    reason="promtool (Debian's prometheus package) not installed")


@needs_promtool
def test_rules_are_valid_and_each_alert_passes_its_unit_tests():
    checked = subprocess.run(["promtool", "check", "rules", "alerts.yml"], cwd=RULES,
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(["promtool", "test", "rules", "alerts_test.yml"], cwd=RULES,
                            capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    alerts = set(re.findall(r"alert: (\w+)", (RULES / "alerts.yml").read_text()))
    tested_alerts = set(re.findall(r"alertname: (\w+)", (RULES / "alerts_test.yml").read_text()))
    assert alerts == tested_alerts and len(alerts) == 8


def _value(text, name, **labels):
    selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
    match = re.search(rf"^{name}(?:\{{{selector}\}})? ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else None


def test_every_figure_the_rules_use_is_served(make_app, smtp_server):
    from .support import Api, Mailbox, make_user

    app = make_app(MAIL_DAILY_QUOTA=10)  # the quota's figure is served for providers with a quota
    api, mailbox = Api(app.test_client()), Mailbox(app, smtp_server)
    register_user = lambda: make_user(api, mailbox)  # noqa: E731
    register_user()  # a code mail delivered, a code used
    api.post("/login-codes", json={"email": "alice@example.com", **api.captcha()})
    for _ in range(5):  # the same address again at once: refused by the send limits
        api.post("/login-codes", json={"email": "alice@example.com", **api.captcha()})
    mailbox.deliver()
    served = app.test_client().get("/metrics").get_data(as_text=True)
    used = set(re.findall(r"\b(authsvc_[a-z_]+)", (RULES / "alerts.yml").read_text()))
    missing = [name for name in used if not re.search(rf"^{name}[{{ ]", served, re.M)]
    assert missing == []
    assert _value(served, "authsvc_mail_attempts_total", provider="primary", result="sent") >= 2
    assert _value(served, "authsvc_code_mails_sent_total", purpose="register") == 1
    assert _value(served, "authsvc_code_mails_sent_total", purpose="login") == 1
    assert _value(served, "authsvc_mail_circuit_open", provider="primary") == 0
    assert _value(served, "authsvc_mail_quota_used_ratio", provider="primary") == 0.2  # 2 of 10 today
    assert _value(served, "authsvc_mail_quota_used_ratio", provider="fallback") is None  # no quota


def test_a_waiting_mail_shows_its_age(app, mailbox):
    with app.test_request_context():
        mail.queue_mail("test", "alice@example.com", {})
    redis = app.extensions["authsvc.redis"]
    [job_id] = [raw.decode() for raw in redis.lrange("authsvc:mail:queue", 0, -1)]
    assert redis.get(f"authsvc:mail:job:{job_id}") is not None
    time.sleep(1.2)  # nobody takes it
    served = app.test_client().get("/metrics").get_data(as_text=True)
    assert 1 <= _value(served, "authsvc_mail_oldest_queued_seconds") < 30
    mailbox.deliver()
    served = app.test_client().get("/metrics").get_data(as_text=True)
    assert _value(served, "authsvc_mail_oldest_queued_seconds") == 0
