"""Redis round trips per code verification and per code send; bytes per pending registration.

    .venv/bin/python bench/redis_probe.py   (authsvc's env settings; prints one JSON object)

Runs authsvc in this process (Flask test client) against the benchmark's Redis while no
other client uses it, and counts each operation's traffic two ways:
  * client side: writes to the Redis socket (one per command, one per pipeline: a round trip);
  * server side: MONITOR between two markers; commands run inside a Lua script are listed
    apart, and a MULTI..EXEC block counts as one round trip.
Bytes per pending registration: MEMORY USAGE of the authsvc:reg:* key after a real
registration request, and of every key that request created.
"""

import json
import os
import statistics
import sys
import threading
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402
from redis.connection import AbstractConnection  # noqa: E402

from authsvc import create_app, keys  # noqa: E402
from authsvc.services import codes, registration  # noqa: E402

PASSWORD = os.environ.get("BENCH_PASSWORD", "correct horse battery staple")
REGISTRATIONS = int(os.environ.get("BENCH_REGISTRATIONS", "10"))


class RoundTrips:
    """Counts writes of packed commands to any Redis socket of this process."""

    def __init__(self):
        self.count = 0
        self.active = False
        original = AbstractConnection.send_packed_command
        probe = self

        def counting(conn, command, check_health=True):
            if probe.active:
                probe.count += 1
                if os.environ.get("BENCH_DEBUG"):
                    print("write:", bytes(command if isinstance(command, (bytes, str)) else b"".join(command))[:120],
                          file=sys.stderr)
            return original(conn, command, check_health)

        AbstractConnection.send_packed_command = counting

    def __enter__(self):
        self.count, self.active = 0, True
        return self

    def __exit__(self, *exc):
        self.active = False


class Monitor:
    """MONITOR in a thread; `between(run)` returns the commands `run` caused."""

    def __init__(self, url):
        self.client = redis.Redis.from_url(url)
        self.marker_client = redis.Redis.from_url(url)
        self.lines = []
        self.ready = threading.Event()
        threading.Thread(target=self._listen, daemon=True).start()
        self.ready.wait(5)

    def _listen(self):
        with self.client.monitor() as monitor:
            self.ready.set()
            for command in monitor.listen():
                self.lines.append(command)

    def between(self, run, trips):
        """Run `run` between two markers, counting its own socket writes in `trips`."""
        start, end = f"bench-start-{uuid.uuid4().hex}", f"bench-end-{uuid.uuid4().hex}"
        self.marker_client.echo(start)
        with trips:
            run()
        self.marker_client.echo(end)
        for _ in range(200):
            if any(end in c["command"] for c in self.lines):
                break
            threading.Event().wait(0.01)
        commands = [c for c in self.lines]
        self.lines = []
        first = next(i for i, c in enumerate(commands) if start in c["command"])
        last = next(i for i, c in enumerate(commands) if end in c["command"])
        return commands[first + 1:last]


def summarise(commands):
    """Round trips seen by the server (MULTI..EXEC = 1, scripted commands apart)."""
    trips, in_multi, listed, scripted = 0, False, [], []
    for command in commands:
        text = command["command"]
        name = text.split(" ", 1)[0].upper()
        if command.get("client_type") == "lua":
            scripted.append(text[:60])
            continue
        listed.append(text[:60])
        if name == "MULTI":
            in_multi = True
        elif name == "EXEC":
            in_multi = False
            trips += 1
        elif not in_multi:
            trips += 1
    return {"round_trips": trips, "commands": listed, "inside_lua": scripted}


def main():
    url = os.environ["REDIS_URL"]
    app = create_app({"MAIL_WORKER": "external", "CAPTCHA_ENABLED": False, "AUDIT_STREAM": True,
                      "SEND_LIMIT_PER_IP": "1000000 per hour",
                      "SEND_LIMIT_PER_EMAIL": "1000000 per minute", "RESEND_COOLDOWN": 0})
    client = app.test_client()
    trips = RoundTrips()
    monitor = Monitor(url)
    out = {}

    email = "u1@bench.example.com"
    with app.test_request_context("/api/v1/password-resets/confirm", method="POST"):
        try:  # warm-up: loads the Lua script and opens the pooled connection
            codes.verify_code("reset", "warmup@bench.example.com", "000000")
        except Exception:  # noqa: BLE001 - the expected CodeExpired
            pass
        code = codes.issue_code("reset", email)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for label, candidate in (("wrong_code", wrong), ("right_code", code)):
            def verify(candidate=candidate):
                try:
                    codes.verify_code("reset", email, candidate)
                except Exception:  # noqa: BLE001 - InvalidCode for the wrong one
                    pass
            seen = monitor.between(verify, trips)
            out[f"verify_code_{label}"] = dict(summarise(seen), client_writes=trips.count)

    # The whole HTTP request that checks a code (reset confirm with a wrong code).
    client.post("/api/v1/password-resets", json={"email": email})
    def confirm():
        client.post("/api/v1/password-resets/confirm",
                    json={"email": email, "code": "000000", "new_password": PASSWORD + " new"})
    seen = monitor.between(confirm, trips)
    out["confirm_request_wrong_code"] = dict(summarise(seen), client_writes=trips.count)

    # Whole code-sending requests from a client network (not loopback: the blocked-network
    # check applies), each after one warm-up: the target is 2 round trips (issue 16).
    for label, path, body in (("reset", "/api/v1/password-resets", {"email": email}),
                              ("login_code", "/api/v1/login-codes", {"email": email})):
        def send(path=path, body=body):
            client.post(path, json=body, environ_base={"REMOTE_ADDR": "198.51.100.7"})
        send()
        seen = monitor.between(send, trips)
        out[f"code_send_{label}"] = dict(summarise(seen), client_writes=trips.count)

    # Bytes per pending registration.
    raw = redis.Redis.from_url(url)
    reg_sizes, all_sizes, value_lengths, per_key = [], [], [], {}
    for _ in range(REGISTRATIONS):
        name = "r" + uuid.uuid4().hex[:12]
        reg_email = f"{name}@bench.example.com"
        before = set(raw.scan_iter("authsvc:*", count=1000))
        answer = client.post("/api/v1/registrations",
                             json={"email": reg_email, "username": name, "password": PASSWORD})
        assert answer.status_code == 202, answer.get_data(as_text=True)
        with app.app_context():
            reg_key = registration.pending_key(answer.get_json()["registration_id"])
        # the shared queue list is not this registration's (it only grows by one id)
        created = set(raw.scan_iter("authsvc:*", count=1000)) - before - {keys.MAIL_QUEUE.encode()}
        reg_sizes.append(raw.memory_usage(reg_key, samples=0))
        value_lengths.append(raw.strlen(reg_key))
        total = 0
        for key in created:
            size = raw.memory_usage(key, samples=0) or 0
            total += size
            kind = ":".join(p for p in key.decode().split(":")[1:3] if len(p) < 16)  # ids left out
            per_key.setdefault(kind, []).append(size)
        all_sizes.append(total)
    out["pending_registration"] = {
        "samples": REGISTRATIONS,
        "reg_key_memory_usage_bytes": statistics.median(reg_sizes),
        "reg_key_value_bytes": statistics.median(value_lengths),
        "all_new_keys_bytes": statistics.median(all_sizes),
        "new_keys": {kind: statistics.median(sizes) for kind, sizes in sorted(per_key.items())},
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
