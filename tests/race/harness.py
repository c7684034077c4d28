"""Race harness: a real gunicorn (2 workers x 8 gthread threads) on the suite's Redis and
database, and a way to fire N requests at the same moment (threads + a barrier).

The server gets the suite's SECRET_KEY, so the mail jobs it queues can be delivered by the
in-process mail worker of tests/support.py (Mailbox) to the suite's aiosmtpd server.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from authsvc.config import SETTINGS

from ..support import CAPTCHA_TEXT, TEST_SECRET, free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"

# Every request of these tests comes from 127.0.0.1: per-IP request budgets are widened (as
# tests/browser/stack.py does); everything the tests are about keeps its default, spelled
# out so that a changed default in the environment can't change what is tested.
RACE_SETTINGS = {
    "AUTHSVC_ENV": "testing",
    "SECRET_KEY": TEST_SECRET,
    "BCRYPT_ROUNDS": "8",  # a few ms per check: the check-then-count window is real
    "CAPTCHA_ENABLED": "true",
    "CAPTCHA_FIXED_TEXT": CAPTCHA_TEXT,
    "MAIL_SERVER": "127.0.0.1",
    "MAIL_USE_SSL": "false",
    "MAIL_USE_TLS": "false",
    "MAIL_DEFAULT_SENDER": "noreply@accounts.example.com",
    "MAIL_WORKER": "external",  # the test process delivers (tests/support.py Mailbox)
    "MAIL_TIMEOUT": "5",
    "PUBLIC_URL": "https://accounts.example.com",
    "PROXY_FIX_X_FOR": "0",
    "RATELIMIT_ENABLED": "true",
    "REGISTRATION_MODE": "open",
    "LOGIN_SECOND_FACTOR": "off",
    "LOG_LEVEL": "WARNING",
    # widened: one client IP sends everything
    "LOGIN_LIMIT_PER_IP": "10000 per minute",
    "SEND_LIMIT_PER_IP": "10000 per hour",
    "CAPTCHA_IMAGE_LIMIT": "10000 per minute",
    # the per-address send limit is tested; the 60 s cooldown would hide it behind 1 send
    "RESEND_COOLDOWN": "0",
    # defaults, explicitly
    "LOGIN_LOCKOUT_THRESHOLD": "5",
    "LOGIN_LOCKOUT_SECONDS": "600",
    "LOGIN_CAPTCHA": "after_failures",
    "LOGIN_CAPTCHA_AFTER": "3",
    "CODE_MAX_ATTEMPTS": "5",
    "CODE_DAILY_FAILURE_CAP": "100",
    "SEND_LIMIT_PER_EMAIL": "3 per 5 minutes;10 per day",
    "INVITE_FAILURES_PER_HOUR": "20",
    "REAUTH_SECONDS": "900",
}

WEB_CONCURRENCY = 2
GUNICORN_THREADS = 8


class StartupError(RuntimeError):
    pass


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py wsgi:app` on a free localhost port."""

    def __init__(self, folder, redis_url, database_url, smtp_port, **settings):
        self.folder = Path(folder)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        runtime = self.folder / "run"  # its own control socket, not ~/.gunicorn/gunicorn.ctl
        runtime.mkdir(mode=0o700, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if k not in SETTINGS and k not in ("BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS",
                                                  "FLASK_APP", "PROMETHEUS_MULTIPROC_DIR")}
        env.update(RACE_SETTINGS)
        env.update({k: str(v) for k, v in settings.items()})
        env.update(
            REDIS_URL=redis_url,
            DATABASE_URL=database_url,
            MAIL_PORT=str(smtp_port),
            INSTANCE_PATH=str(self.folder / "instance"),
            BIND=f"127.0.0.1:{self.port}",
            WEB_CONCURRENCY=str(WEB_CONCURRENCY),
            GUNICORN_THREADS=str(GUNICORN_THREADS),
            XDG_RUNTIME_DIR=str(runtime),
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        self.log_path = self.folder / "gunicorn.log"
        self.process = None

    def start(self, timeout=60):
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise StartupError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    self._wait_for_workers(deadline)
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise StartupError(f"gunicorn did not answer /readyz within {timeout} s:\n{self.log()}")

    def _wait_for_workers(self, deadline):
        """/readyz answers once one worker is up: wait until every worker has booted, then
        warm both up with a burst of parallel requests."""
        while time.time() < deadline and self.log().count("Booting worker") < WEB_CONCURRENCY:
            time.sleep(0.05)
        for _round in range(3):
            answers = fire(self.url, 2 * GUNICORN_THREADS, None,
                           lambda i, client, ctx: client.session.get(f"{self.url}/readyz", timeout=30))
            assert all(a.status_code == 200 for a in answers), answers

    def log(self):
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@dataclass
class Outcome:
    status: int
    body: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)

    @property
    def code(self):
        """The error code of an error answer ("" for a success)."""
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error.get("code", "") if isinstance(error, dict) else ""

    @property
    def label(self):
        return f"{self.status} {self.code}".strip()

    def __repr__(self):
        return f"<{self.label} {self.body!r}>"


class Client:
    """JSON calls against /api/v1 of one server, over one keep-alive connection."""

    def __init__(self, url, session=None):
        self.url = url
        self.session = session or requests.Session()

    def call(self, method, path, body=None, token=None, headers=None):
        headers = dict(headers or {})
        headers.setdefault("Accept-Language", "en")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self.session.request(method, f"{self.url}/api/v1{path}", json=body,
                                        headers=headers, timeout=60)
        try:
            data = response.json()
        except ValueError:
            data = {"raw": response.text[:500]}
        return Outcome(response.status_code, data, dict(response.headers))

    def post(self, path, body=None, **kwargs):
        return self.call("POST", path, body if body is not None else {}, **kwargs)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def captcha(self):
        """A fresh solved captcha: {captcha_id, captcha_answer}."""
        answer = self.post("/captcha")
        assert answer.status == 201, answer
        return {"captcha_id": answer.body["captcha_id"], "captcha_answer": CAPTCHA_TEXT}

    def close(self):
        self.session.close()


def fire(url, count, prepare, send, timeout=60):
    """Run `count` requests at once; returns their Outcomes in thread order.

    prepare(i, client) -> ctx runs first in each thread (captchas, bodies; it also opens the
    keep-alive connection); every thread then waits at one barrier and calls send(i, client, ctx).
    """
    barrier = threading.Barrier(count, timeout=timeout)
    results = [None] * count
    errors = []

    def run(i):
        client = Client(url)
        try:
            ctx = prepare(i, client) if prepare else None
            barrier.wait()
            results[i] = send(i, client, ctx)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append((i, exc))
            barrier.abort()
        finally:
            client.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 30)
    real = [(i, e) for i, e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if real or errors:
        i, exc = (real or errors)[0]
        raise AssertionError(f"harness: request {i} failed before answering: {exc!r}") from exc
    assert all(r is not None for r in results), "harness: a request thread did not finish"
    return results


def tally(outcomes):
    """{"401 invalid_credentials": 8, "423 account_locked": 8, ...}"""
    return dict(Counter(o.label for o in outcomes))


def report(name, counts, **extra):
    """One line with a burst's counts: printed (-s / -rP) and used as the assertion message."""
    line = f"[race] {name}: {counts}" + "".join(f", {k}={v}" for k, v in extra.items())
    print(line)
    return line


def register(client, mailbox, email, username, password=PASSWORD):
    """Register and confirm through the server; returns (user json, token).

    Works with today's confirm body {email, code} and with the coming one that also needs
    the `registration_id` the registration answer carries.
    """
    started = client.post("/registrations", {"email": email, "username": username,
                                             "password": password, **client.captcha()})
    assert started.status == 202, started
    code = mailbox.code(email)
    body = {"email": email, "code": code}
    if "registration_id" in started.body:
        body["registration_id"] = started.body["registration_id"]
    confirmed = client.post("/registrations/confirm", body)
    assert confirmed.status == 201, confirmed
    return confirmed.body["user"], confirmed.body["token"]
