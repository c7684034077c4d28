"""Authenticator-app codes raced on a gunicorn (2 workers x 8 threads): one code signs in once
however many requests carry it (the step is spent by one conditional UPDATE), and parallel
wrong codes are bounded by the account's lockout like passwords."""

import time

import pyotp
import pytest

from .harness import PASSWORD, fire, register, report, tally

pytestmark = pytest.mark.slow

EMAIL = "alice@example.com"


@pytest.fixture(scope="module")
def server(start_gunicorn):
    return start_gunicorn()


def _enrolled(server, state, client_for):
    """alice with an app enrolled: (client, secret)."""
    client = client_for(server)
    _user, token = register(client, state.mailbox, EMAIL, "alice")
    started = client.post("/me/factors/totp", token=token)
    assert started.status == 201, started
    secret = started.body["secret"]
    done = client.post("/me/factors/totp/confirm", {"code": pyotp.TOTP(secret).now()}, token=token)
    assert done.status == 200, done
    return client, secret


def _challenge(client):
    started = client.post("/sessions", {"login": "alice", "password": PASSWORD})
    assert started.status == 202 and started.body["second_step"] == "totp", started
    return started.body["challenge"]


def _only(counts, *labels):
    return all(label in labels for label in counts)


def test_one_app_code_sent_sixteen_times_at_once_signs_in_once(server, state, client_for):
    client, secret = _enrolled(server, state, client_for)
    challenges = [_challenge(client) for _ in range(16)]
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the next step: not used by the enrolment
    before = state.audit_count("login.success")
    counts = tally(fire(server.url, 16, None, lambda i, c, ctx: c.post(
        "/sessions/second-factor", {"challenge": challenges[i], "totp": code})))
    signed_in = state.audit_count("login.success") - before
    message = report("app step, 16 copies of one code", counts, login_success_rows=signed_in)
    assert counts.get("200", 0) == 1 and signed_in == 1, message
    # the copies are refused as used (counted like wrong codes), or wait as if locked
    assert _only(counts, "200", "400 invalid_code", "423 account_locked"), message


def test_parallel_wrong_app_codes_get_at_most_five_checks(server, state, client_for):
    client, secret = _enrolled(server, state, client_for)
    challenge = _challenge(client)
    near = {pyotp.TOTP(secret).at(time.time() + d) for d in range(-90, 120, 30)}
    wrong = [c for c in (f"{n:06d}" for n in range(200000, 200100)) if c not in near][:32]
    before = state.audit_count("factor.failed")
    counts = tally(fire(server.url, 32, None, lambda i, c, ctx: c.post(
        "/sessions/second-factor", {"challenge": challenge, "totp": wrong[i]})))
    checked = state.audit_count("factor.failed") - before
    message = report("app step, 32 wrong codes", counts, factor_failed_rows=checked)
    assert checked <= 5 and counts.get("400 invalid_code", 0) <= 4, message
    assert _only(counts, "400 invalid_code", "423 account_locked"), message
    # the lock holds for the right code and the password alike
    late = client.post("/sessions/second-factor", {"challenge": challenge,
                                                   "totp": pyotp.TOTP(secret).at(time.time() + 30)})
    assert late.label == "423 account_locked", late
    assert client.post("/sessions", {"login": "alice", "password": PASSWORD}).label == "423 account_locked"
