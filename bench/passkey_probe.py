"""Server time and CPU of a passkey sign-in next to a password sign-in (bcrypt, 12 rounds as in
production), in process (run from a checkout: .venv/bin/python bench/passkey_probe.py; `make
bench` runs it as its "passkey" phase). Prints one JSON object.

A passkey sign-in is two requests: POST /api/v1/sessions/passkey/options, then POST
/api/v1/sessions/passkey with the answer of tests/support/authenticator.py (real ES256 keys,
as a platform authenticator signs); the authenticator's own work between them is not counted.
A password sign-in is one POST /api/v1/sessions (a user without a second factor). Times are
per sign-in, measured around the Flask test client (embedded Redis, SQLite, limits and the
answer check off as in production); CPU is this process's CPU time.
"""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probe_app import probe_app  # noqa: E402

from tests.support.authenticator import SoftAuthenticator  # noqa: E402  (probe_app put the checkout first)

PASSKEY_N = int(os.environ.get("PASSKEY_N", "300"))
PASSWORD_N = int(os.environ.get("PASSWORD_N", "40"))
PASSWORD = "correct horse battery staple"


def make_user(app, name):
    from authsvc.extensions import db
    from authsvc.models import User
    from authsvc.services import passwords

    with app.app_context():
        db.session.add(User(email=f"{name}@example.com", username=name, password_hash=passwords.hash_password(PASSWORD)))
        db.session.commit()


def timed(call):
    wall, cpu = time.perf_counter(), time.process_time()
    answer = call()
    return answer, time.perf_counter() - wall, time.process_time() - cpu


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary(walls, cpus):
    ms = [w * 1000 for w in walls]
    return {"n": len(walls), "p50_ms": round(statistics.median(ms), 2), "p99_ms": round(percentile(ms, 99), 2),
            "cpu_ms_mean": round(statistics.fmean(cpus) * 1000, 3)}


def main():
    client, server = probe_app(BCRYPT_ROUNDS=12, PUBLIC_URL="http://localhost:5000")
    app = client.application
    make_user(app, "alice")
    make_user(app, "bob")
    token = client.post("/api/v1/sessions", json={"login": "alice", "password": PASSWORD}).get_json()["token"]
    device = SoftAuthenticator(origin=app.config["PUBLIC_URL"].rstrip("/"))
    auth = {"Authorization": f"Bearer {token}"}
    options = client.post("/api/v1/me/passkeys/registration-options", headers=auth).get_json()
    added = client.post("/api/v1/me/passkeys", headers=auth, json={
        "challenge_id": options["challenge_id"], "credential": device.create(options["publicKey"]), "name": "probe"})
    assert added.status_code == 201, added.get_data(as_text=True)

    def passkey_sign_in():
        got, wall1, cpu1 = timed(lambda: client.post("/api/v1/sessions/passkey/options", json={}))
        body = got.get_json()
        assert got.status_code == 200, body
        credential = device.get(body["publicKey"])  # the device's work: not the server's
        done, wall2, cpu2 = timed(lambda: client.post("/api/v1/sessions/passkey", json={
            "challenge_id": body["challenge_id"], "credential": credential}))
        assert done.status_code == 200, done.get_data(as_text=True)
        return wall1 + wall2, cpu1 + cpu2

    def password_sign_in():
        done, wall, cpu = timed(lambda: client.post("/api/v1/sessions", json={"login": "bob", "password": PASSWORD}))
        assert done.status_code == 200, done.get_data(as_text=True)
        return wall, cpu

    out = {"bcrypt_rounds": app.config["BCRYPT_ROUNDS"]}
    for name, run, count in (("passkey", passkey_sign_in, PASSKEY_N), ("password", password_sign_in, PASSWORD_N)):
        for _ in range(min(20, count // 5)):
            run()  # warm-up
        walls, cpus = zip(*(run() for _ in range(count)))
        out[name] = summary(walls, cpus)
    out["passkey_cpu_share_of_password"] = round(out["passkey"]["cpu_ms_mean"] / out["password"]["cpu_ms_mean"], 4)
    server.shutdown()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
