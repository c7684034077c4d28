"""`make run` as a developer uses it: the real make, flask and embedded Redis in subprocesses.

While it runs, the README's send-test-mail is answered by the server's own worker; stopping
it (SIGTERM to make, or Ctrl-C to the terminal's process group) stops the embedded Redis
server too, instead of leaving a redis-server behind for every run."""

import email
import email.policy
import json
import os
import re
import shutil
import signal
import subprocess
import urllib.request

import pytest

from .support import free_port, wait_until
from .support.checkout import (ROOT, checkout_env, commands, kill_group, redis_pid, run_shell, sh_blocks,
                               stopped)

README = (ROOT / "README.md").read_text()

pytestmark = pytest.mark.slow


def _answers(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@pytest.fixture
def make_run(tmp_path, request):
    """make run on a free port with a fresh instance folder; yields (process, port, instance).
    Extra environment (as `CAPTCHA_ENABLED=false make run`) comes from @pytest.mark.run_env."""
    instance, port = tmp_path / "instance", free_port()
    marker = request.node.get_closest_marker("run_env")
    log = open(tmp_path / "make-run.log", "w")
    process = subprocess.Popen(["make", "-s", "run", f"RUN_PORT={port}"], cwd=ROOT,
                               env=checkout_env(instance, **(marker.kwargs if marker else {})),
                               stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_until(lambda: _answers(port), timeout=120, interval=0.3), \
            (tmp_path / "make-run.log").read_text()
        yield process, port, instance
    finally:
        kill_group(process)
        log.close()


@pytest.mark.parametrize("stop", ["sigterm-to-make", "ctrl-c"])
def test_stopping_make_run_stops_its_embedded_redis(make_run, stop):
    process, _port, instance = make_run
    server = redis_pid(instance)
    if stop == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)  # what the terminal sends to its foreground group
    else:
        process.send_signal(signal.SIGTERM)  # make passes it on to the server
    process.wait(timeout=60)
    assert stopped(server), (instance.parent / "make-run.log").read_text()
    assert not (instance / "redis.db.settings").exists()


def test_send_test_mail_while_make_run_is_up_reports_the_delivery(make_run):
    process, port, instance = make_run
    result = run_shell(".venv/bin/flask --app wsgi send-test-mail you@example.com",
                       checkout_env(instance))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"delivered: accepted by the dev outbox {instance}/outbox/")
    assert len(list((instance / "outbox").glob("*.eml"))) == 1
    # the command joined the server's Redis and left it running for the server
    assert process.poll() is None and _answers(port)


def _post(port, path, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", method="POST",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.load(reply)


@pytest.mark.run_env(CAPTCHA_ENABLED="false")  # the README's way to script it
@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="the README uses curl and jq")
def test_the_readme_admin_api_walkthrough_works_when_pasted(make_run, tmp_path):
    """alice registers (user 1), the README's create-admin makes boss (user 2), then the
    README's admin block runs as printed, the admin password put in for its "…"."""
    _process, port, instance = make_run
    started = _post(port, "/registrations", {"email": "alice@example.com", "username": "alice",
                                             "password": "correct horse battery staple"})
    outbox = instance / "outbox"
    assert wait_until(lambda: any(outbox.glob("*.eml")), timeout=30)
    mail = email.message_from_bytes(next(outbox.glob("*.eml")).read_bytes(), policy=email.policy.default)
    code = re.search(r"\b(\d{6})\b", mail.get_body(preferencelist=("plain",)).get_content()).group(1)
    _post(port, "/registrations/confirm", {"email": "alice@example.com", "code": code,
                                           "registration_id": started["registration_id"]})
    env = checkout_env(instance, AUTHSVC_ADMIN_PASSWORD="the admin passphrase")
    create_admin = next(line for block in sh_blocks(README) for line in commands(block)
                        if "create-admin" in line)
    assert run_shell(create_admin, env).returncode == 0
    readme_b = next(line for block in sh_blocks(README) for line in commands(block)
                    if line.startswith("B="))
    block = next(b for b in sh_blocks(README) if "/deactivate" in b)
    script = "\n".join([readme_b.replace("localhost:5000", f"127.0.0.1:{port}"),
                        "J='Content-Type: application/json'",  # from the sign-in walkthrough
                        *commands(block.replace('"password": "…"', '"password": "the admin passphrase"'))])
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    deactivated = [json.loads(line) for line in result.stdout.splitlines()
                   if line.startswith("{") and '"active"' in line][-1]
    assert deactivated["username"] == "alice" and deactivated["active"] is False
    exported = (tmp_path / "audit.csv").read_text()
    assert any(",login.success," in line and "root@example.com" in line for line in exported.splitlines())
