"""The production shape on one machine: 3 gunicorn web instances and 2 external mail workers
against one Redis and one PostgreSQL (make cluster-test; .ci/run runs it when both answer)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ..support import SMTPServer, free_port, text_of, wait_until

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "authsvc_cluster"
REDIS_URL = "redis://127.0.0.1:6379/12"
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.cluster


def _answers(port):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


if not (_answers(6379) and _answers(5432)):
    pytest.skip("cluster test needs Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432",
                allow_module_level=True)


def fresh_database(name):
    """Drop (with its connections) and create the PostgreSQL database `name`: each cluster
    test module starts on an empty database of its own."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


class Cluster:
    def __init__(self, tmp_path, smtp):
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        fresh_database(DATABASE)
        self.tmp_path = tmp_path
        self.env = dict(os.environ, AUTHSVC_ENV="testing", SECRET_KEY="cluster-secret-" + "k" * 40,
                        DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}",
                        REDIS_URL=REDIS_URL, BCRYPT_ROUNDS="4", CAPTCHA_FIXED_TEXT="K7MX",
                        MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port), MAIL_USE_SSL="false",
                        MAIL_DEFAULT_SENDER="noreply@accounts.example.com", MAIL_WORKER="external",
                        MAIL_WORKER_HEARTBEAT_TTL="3", PROXY_FIX_X_FOR="1", WEB_CONCURRENCY="2",
                        GUNICORN_THREADS="4",
                        SEND_LIMIT_PER_EMAIL="3 per 5 minutes;10 per day", SEND_LIMIT_PER_IP="10 per hour",
                        RESEND_COOLDOWN="0", LOG_LEVEL="WARNING")
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                       env=self.env, check=True, capture_output=True)
        self.ports = [free_port() for _ in range(3)]
        # Like one container each: every instance has its own Prometheus multiprocess directory.
        self.web = [subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                     cwd=ROOT, env=dict(self.env, BIND=f"127.0.0.1:{port}",
                                                        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / f"prom-{port}")),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    for port in self.ports]
        self.workers = [self.start_worker(), self.start_worker()]
        for port in self.ports:
            assert wait_until(lambda p=port: self._ready(p), timeout=30), f"web on {port} did not start"

    def start_worker(self):
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "mail-worker"], cwd=ROOT,
                                env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _ready(self, port):
        try:
            return self.call(port, "GET", "/readyz")[0] == 200
        except OSError:
            return False

    def call(self, port, method, path, body=None, ip="127.0.0.1", token=None, cookie=None):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None)
        request.add_header("X-Forwarded-For", ip)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        if cookie:
            request.add_header("Cookie", cookie)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers

    def captcha(self, port, ip):
        status, body, _ = self.call(port, "POST", "/api/v1/captcha", {}, ip=ip)
        assert status == 201
        return {"captcha_id": json.loads(body)["captcha_id"], "captcha_answer": "K7MX"}

    def stop(self):
        for process in self.web + self.workers:
            if process.poll() is None:
                process.terminate()
        for process in self.web + self.workers:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def smtp():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, smtp):
    running = Cluster(tmp_path_factory.mktemp("cluster"), smtp)
    yield running
    running.stop()


def test_per_ip_limit_holds_across_instances(cluster):
    ip = "198.51.100.10"

    def send(i):
        port = cluster.ports[i % 3]
        body = {"email": f"walker{i}@example.com", **cluster.captcha(cluster.ports[(i + 1) % 3], ip)}
        return cluster.call(port, "POST", "/api/v1/login-codes", body, ip=ip)[0]

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(send, range(12)))
    assert statuses.count(202) == 10 and statuses.count(429) == 2, statuses


def test_per_email_limit_holds_across_instances(cluster):
    statuses = []
    for i in range(4):
        body = {"email": "same@example.com", **cluster.captcha(cluster.ports[i % 3], f"198.51.100.{20 + i}")}
        statuses.append(cluster.call(cluster.ports[(i + 1) % 3], "POST", "/api/v1/login-codes", body,
                                     ip=f"198.51.100.{20 + i}")[0])
    assert statuses == [202, 202, 202, 429]


def _code_for(smtp, email):

    assert wait_until(lambda: any(email in m["to"] for m in smtp.recorder.messages), timeout=20)
    message = [m for m in smtp.recorder.messages if email in m["to"]][-1]["message"]
    return re.search(r"\b(\d{6})\b", text_of(message)).group(1)


def test_sessions_and_tokens_work_on_every_instance(cluster, smtp):
    a, b, c = cluster.ports
    body = {"email": "alice@example.com", "username": "alice", "password": PASSWORD,
            **cluster.captcha(b, "198.51.100.30")}  # the captcha from one instance, answered on another
    status, raw, _ = cluster.call(a, "POST", "/api/v1/registrations", body, ip="198.51.100.30")
    assert status == 202
    registration_id = json.loads(raw)["registration_id"]
    code = _code_for(smtp, "alice@example.com")
    status, raw, _ = cluster.call(c, "POST", "/api/v1/registrations/confirm",
                                  {"email": "alice@example.com", "code": code, "registration_id": registration_id})
    assert status == 201
    token = json.loads(raw)["token"]
    assert all(cluster.call(port, "GET", "/api/v1/me", token=token)[0] == 200 for port in cluster.ports)
    # a browser session made on one instance is honoured by the others
    status, page, headers = cluster.call(a, "GET", "/login")
    cookie = headers["Set-Cookie"].split(";")[0]

    csrf = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1).decode()
    form = urllib.parse.urlencode({"csrf_token": csrf, "login": "alice", "password": PASSWORD}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{b}/login", data=form, method="POST")
    request.add_header("Cookie", cookie)
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    request.add_header("X-Forwarded-For", "198.51.100.31")
    try:
        urllib.request.build_opener(NoRedirect).open(request, timeout=30)
    except urllib.error.HTTPError as error:
        assert error.code == 302
        signed_in_cookie = next(c.split(";")[0] for c in error.headers.get_all("Set-Cookie")
                                if c.startswith("authsvc_session="))
    assert cluster.call(c, "GET", "/account", cookie=signed_in_cookie)[0] == 200
    assert cluster.call(c, "GET", "/account", cookie=cookie)[0] == 302  # the pre-login id is dead


def test_mail_is_delivered_exactly_once_and_survives_a_killed_worker(cluster, smtp):
    smtp.recorder.messages.clear()
    smtp.recorder.rcpt_delay = 0.05  # slow recipients: a kill lands before the server commits
    emails = [f"bulk{i}@example.com" for i in range(40)]

    def register(i):
        ip = f"203.0.113.{i}"
        body = {"email": emails[i], "username": f"bulk{i}", "password": PASSWORD,
                **cluster.captcha(cluster.ports[i % 3], ip)}
        return cluster.call(cluster.ports[(i + 1) % 3], "POST", "/api/v1/registrations", body, ip=ip)[0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(register, range(40))) == {202}
    # kill while both workers wait at RCPT, so the victim is mid-message, not mid-commit
    assert wait_until(lambda: len(smtp.recorder.messages) >= 6 and smtp.recorder.waiting_in_rcpt >= 2,
                      timeout=30, interval=0.005)
    cluster.workers[0].send_signal(signal.SIGKILL)
    cluster.workers[0].wait()
    assert len(smtp.recorder.messages) < 40, "the queue was empty before the kill"
    assert wait_until(lambda: len(smtp.recorder.messages) >= 40, timeout=60)
    time.sleep(1)
    jobs = [m["message"]["X-Authsvc-Job"] for m in smtp.recorder.messages]
    assert len(jobs) == len(set(jobs)) == 40
    assert sorted(m["to"][0] for m in smtp.recorder.messages) == sorted(emails)
    smtp.recorder.rcpt_delay = 0


def test_metrics_add_up_over_all_processes(cluster):
    total = 0.0
    for port in cluster.ports:  # each instance reports the sum over its own gunicorn workers
        status, text, _ = cluster.call(port, "GET", "/metrics")
        assert status == 200
        match = re.search(rb'^authsvc_codes_issued_total\{purpose="register"\} ([0-9.]+)', text, re.M)
        total += float(match.group(1)) if match else 0.0
    assert total == 41  # alice + 40 bulk registrations, spread over 3 instances x 2 workers
