"""Redis that survives losing a node: a master, a replica and three sentinels (Debian's
redis-server and redis-sentinel), authsvc under gunicorn and one mail worker finding the
master through the sentinels. The master is killed under load: answers in the failover window
are 503 `unavailable` (never a 500, never a wrong answer), service resumes by itself, and every
mail acknowledged to a client (202) arrives exactly once."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from ..support import CODE_RE, SMTPServer, free_port, text_of, wait_until

ROOT = Path(__file__).resolve().parents[2]
MASTER_NAME = "authsvc"
DOWN_AFTER_MS = 5000
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.cluster

if not (shutil.which("redis-server") and shutil.which("redis-sentinel")):
    pytest.skip("needs Debian's redis-server and redis-sentinel (apt-get install redis-sentinel)",
                allow_module_level=True)


def _redis(port):
    import redis

    return redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)


class Replicated:
    """Master + replica + 3 sentinels, each its own process in a temporary folder."""

    def __init__(self, tmp):
        self.tmp, self.processes = tmp, {}
        self.master, self.replica = free_port(), free_port()
        self.sentinels = [free_port() for _ in range(3)]
        self._server("master", self.master)
        self._server("replica", self.replica, "--replicaof", "127.0.0.1", str(self.master))
        for port in self.sentinels:
            conf = tmp / f"sentinel-{port}.conf"
            conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {tmp}\n"
                            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master} 2\n"
                            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
                            f"sentinel failover-timeout {MASTER_NAME} 20000\n"
                            f"sentinel parallel-syncs {MASTER_NAME} 1\n")
            self.processes[f"sentinel-{port}"] = subprocess.Popen(
                ["redis-sentinel", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_until(self._settled, timeout=30), "sentinels did not see the replica and each other"

    def _server(self, name, port, *extra):
        self.processes[name] = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.tmp), *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _settled(self):
        try:
            for port in self.sentinels:
                master = _redis(port).sentinel_master(MASTER_NAME)
                if master["num-slaves"] < 1 or master["num-other-sentinels"] < 2:
                    return False
            return _redis(self.replica).info("replication")["master_link_status"] == "up"
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def current_master(self):
        _host, port = _redis(self.sentinels[0]).sentinel_get_master_addr_by_name(MASTER_NAME)
        return int(port)

    def kill_master(self):
        self.processes["master"].send_signal(signal.SIGKILL)
        self.processes["master"].wait(5)

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(5)


class Service:
    """One gunicorn (2 workers × 4 threads) and one external mail worker on the sentinels."""

    def __init__(self, tmp, redis_nodes, smtp):
        sentinels = ",".join(f"127.0.0.1:{port}" for port in redis_nodes.sentinels)
        self.port = free_port()
        self.env = dict(os.environ, AUTHSVC_ENV="testing", SECRET_KEY="sentinel-secret-" + "k" * 40,
                        DATABASE_URL=f"sqlite:///{tmp / 'authsvc.sqlite3'}", REDIS_SENTINELS=sentinels,
                        REDIS_SENTINEL_MASTER=MASTER_NAME, REDIS_WAIT_REPLICAS="1", REDIS_WAIT_MS="500",
                        BCRYPT_ROUNDS="4", CAPTCHA_FIXED_TEXT="K7MX", MAIL_SERVER="127.0.0.1",
                        MAIL_PORT=str(smtp.port), MAIL_USE_SSL="false", MAIL_WORKER="external",
                        MAIL_DEFAULT_SENDER="noreply@accounts.example.com", MAIL_WORKER_HEARTBEAT_TTL="3",
                        WEB_CONCURRENCY="2", GUNICORN_THREADS="4", BIND=f"127.0.0.1:{self.port}",
                        SEND_LIMIT_PER_EMAIL="100 per minute", SEND_LIMIT_PER_IP="100000 per hour",
                        LOGIN_LIMIT_PER_IP="100000 per minute", CAPTCHA_IMAGE_LIMIT="100000 per minute",
                        RESEND_COOLDOWN="0", LOG_LEVEL="WARNING")
        self.env.pop("REDIS_URL", None)
        self.log = tmp / "service.log"
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                       env=self.env, check=True, capture_output=True)
        log = self.log.open("ab")
        self.processes = [
            subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                             cwd=ROOT, env=self.env, stdout=log, stderr=log),
            subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "mail-worker"], cwd=ROOT,
                             env=self.env, stdout=log, stderr=log)]
        assert wait_until(lambda: self.call("GET", "/readyz")[0] == 200, timeout=30), "web did not start"

    def call(self, method, path, body=None, token=None):
        import urllib.error
        import urllib.request

        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v1{path}" if path != "/readyz"
                                         else f"http://127.0.0.1:{self.port}/readyz", method=method,
                                         data=json.dumps(body).encode() if body is not None else None)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw.startswith(b"{") else raw
        except OSError as error:
            return 0, repr(error)

    def register(self, email, username):
        status, body = self.call("POST", "/captcha", {})
        if status != 201:
            return status, body
        return self.call("POST", "/registrations", {
            "email": email, "username": username, "password": PASSWORD,
            "captcha_id": body["captcha_id"], "captcha_answer": "K7MX"})

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def stack(tmp_path):
    smtp = SMTPServer().start()
    nodes = Replicated(tmp_path)
    service = None
    try:
        service = Service(tmp_path, nodes, smtp)
        yield nodes, service, smtp
    finally:
        if service:
            service.stop()
        nodes.stop()
        smtp.stop()


def _label(status, body):
    code = body.get("error", {}).get("code") if isinstance(body, dict) else None
    return f"{status} {code}" if code else str(status)


def test_killing_the_master_costs_a_short_503_window_and_no_acknowledged_mail(stack):
    nodes, service, smtp = stack
    first_master = nodes.current_master()
    # a signed-in user: his token must survive the failover (it was replicated)
    status, body = service.register("owner@example.com", "owner01")
    assert status == 202, body
    assert wait_until(lambda: smtp.recorder.messages, timeout=20)
    code = CODE_RE.search(text_of(smtp.recorder.messages[0]["message"])).group(0)
    status, grant = service.call("POST", "/registrations/confirm", {
        "email": "owner@example.com", "code": code, "registration_id": body["registration_id"]})
    assert status == 201, grant

    acknowledged, answers, stop = [], [], threading.Event()

    def drive(worker):
        n = 0
        while not stop.is_set():
            n += 1
            email = f"w{worker}n{n}@example.com"
            started = time.time()
            status, body = service.register(email, f"w{worker}n{n}")
            answers.append((started, status, _label(status, body)))
            if status == 202:
                acknowledged.append(email)
            time.sleep(0.05)

    def sign_in():
        while not stop.is_set():
            started = time.time()
            status, body = service.call("POST", "/sessions", {"login": "owner01", "password": PASSWORD})
            answers.append((started, status, _label(status, body)))
            time.sleep(0.05)

    threads = [threading.Thread(target=drive, args=(w,)) for w in range(3)] + [threading.Thread(target=sign_in)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    killed_at = time.time()
    nodes.kill_master()
    # service resumes by itself: a registration answers 202 again within 30 s of the kill
    assert wait_until(lambda: any(t > killed_at + 1 and s == 202 for t, s, _ in answers), timeout=30), \
        Counter(label for _, _, label in answers)
    resumed_at = min(t for t, s, _ in answers if t > killed_at + 1 and s == 202)
    time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(30)

    labels = Counter(label for _, _, label in answers)
    log = service.log.read_text()
    unhandled = log[log.find("Error handling request"):][:3000] if "Error handling request" in log else ""
    assert set(labels) <= {"200", "202", "503 unavailable"}, (labels, unhandled)  # never a 500
    assert labels["503 unavailable"] >= 1, labels  # the window was really crossed
    assert nodes.current_master() == nodes.replica != first_master
    assert resumed_at - killed_at <= 30
    assert service.call("GET", "/me", token=grant["token"])[0] == 200

    # every mail acknowledged to a client arrives, exactly once
    def delivered():
        with smtp.recorder.lock:
            return Counter(to for m in smtp.recorder.messages for to in m["to"])

    assert wait_until(lambda: all(delivered()[email] >= 1 for email in acknowledged), timeout=60), \
        [email for email in acknowledged if not delivered()[email]]
    time.sleep(2)
    counts = delivered()
    assert [email for email in acknowledged if counts[email] != 1] == []
