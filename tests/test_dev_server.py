"""`make run` as a developer uses it: the real make, flask and embedded Redis in subprocesses.

While it runs, the README's send-test-mail is answered by the server's own worker; stopping
it (SIGTERM to make, or Ctrl-C to the terminal's process group) stops the embedded Redis
server too, instead of leaving a redis-server behind for every run."""

import os
import signal
import subprocess
import urllib.request

import pytest

from .support import free_port, wait_until
from .support.checkout import ROOT, checkout_env, kill_group, redis_pid, run_shell, stopped

pytestmark = pytest.mark.slow


def _answers(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@pytest.fixture
def make_run(tmp_path):
    """make run on a free port with a fresh instance folder; yields (process, port, instance)."""
    instance, port = tmp_path / "instance", free_port()
    log = open(tmp_path / "make-run.log", "w")
    process = subprocess.Popen(["make", "-s", "run", f"RUN_PORT={port}"], cwd=ROOT,
                               env=checkout_env(instance), stdout=log, stderr=subprocess.STDOUT,
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
    assert stopped(server), f"redis-server {server} still runs after make run stopped"
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
