"""Second-step codes raced on a gunicorn with LOGIN_SECOND_FACTOR=always: a code allows at
most CODE_MAX_ATTEMPTS (5) wrong tries however many arrive at once, and a right code signs
in exactly once."""

import pytest

from .harness import PASSWORD, fire, register, report, tally

pytestmark = pytest.mark.slow

EMAIL = "alice@example.com"


@pytest.fixture(scope="module")
def server(start_gunicorn):
    return start_gunicorn(LOGIN_SECOND_FACTOR="always")


def _challenge(server, state, client_for):
    """A registered account half-way through sign-in: (client, challenge, emailed code)."""
    client = client_for(server)
    register(client, state.mailbox, EMAIL, "alice")
    started = client.post("/sessions", {"login": "alice", "password": PASSWORD})
    assert started.status == 202 and started.body.get("status") == "second_factor_required", started
    return client, started.body["challenge"], state.mailbox.code(EMAIL)


def test_sanity_second_step_signs_in(server, state, client_for):
    client, challenge, code = _challenge(server, state, client_for)
    done = client.post("/sessions/second-factor", {"challenge": challenge, "code": code})
    assert done.status == 200 and done.body.get("token"), done


def test_parallel_wrong_codes_get_at_most_five_tries(server, state, client_for):
    client, challenge, code = _challenge(server, state, client_for)
    wrong = [f"{(int(code) + 1 + i) % 1_000_000:06d}" for i in range(32)]

    outcomes = fire(server.url, 32, None,
                    lambda i, c, ctx: c.post("/sessions/second-factor",
                                             {"challenge": challenge, "code": wrong[i]}))
    counts = tally(outcomes)
    message = report("second factor, 32 wrong codes", counts)
    assert _only(counts, "400 invalid_code", "400 code_expired"), message
    assert counts.get("400 invalid_code", 0) <= 5, message
    # the tries are spent: the right code no longer works either
    late = client.post("/sessions/second-factor", {"challenge": challenge, "code": code})
    assert late.label == "400 code_expired", late


def test_parallel_right_codes_sign_in_once(server, state, client_for):
    _client, challenge, code = _challenge(server, state, client_for)
    counts, signed_in, message = _burst_of_second_steps(server, state, 20, "second factor, 20 right codes",
                                                       {"challenge": challenge, "code": code})
    assert counts.get("200", 0) == 1, message
    assert _only(counts, "200", "400 code_expired"), message
    assert signed_in == 1, message


def _burst_of_second_steps(server, state, n, name, body):
    """n simultaneous POST /sessions/second-factor with `body`: (counts, sign-ins, message)."""
    before = state.audit_count("login.success")
    counts = tally(fire(server.url, n, None, lambda i, c, ctx: c.post("/sessions/second-factor", body)))
    signed_in = state.audit_count("login.success") - before
    return counts, signed_in, report(name, counts, login_success_rows=signed_in)


def _only(counts, *labels):
    return all(label in labels for label in counts)


def _password_challenge(server, state, client_for):
    """A code sign-in whose second step is the password: (client, challenge)."""
    client = client_for(server)
    register(client, state.mailbox, EMAIL, "alice")
    captcha = client.post("/captcha", {}).body["captcha_id"]
    sent = client.post("/login-codes", {"email": EMAIL, "captcha_id": captcha, "captcha_answer": "K7MX"})
    assert sent.status == 202, sent
    started = client.post("/sessions/code", {"email": EMAIL, "code": state.mailbox.code(EMAIL)})
    assert started.status == 202 and started.body.get("second_step") == "password", started
    return client, started.body["challenge"]


def test_parallel_right_passwords_finish_a_password_step_once(server, state, client_for):
    _client, challenge = _password_challenge(server, state, client_for)
    counts, signed_in, message = _burst_of_second_steps(server, state, 16, "password step, 16 right passwords",
                                                       {"challenge": challenge, "password": PASSWORD})
    assert counts.get("200", 0) == 1 and signed_in == 1, message
    # beyond LOGIN_LOCKOUT_THRESHOLD checks in flight at once, the rest wait as if locked
    assert _only(counts, "200", "400 code_expired", "423 account_locked"), message


def test_parallel_wrong_passwords_on_a_password_step_lock_after_five(server, state, client_for):
    client, challenge = _password_challenge(server, state, client_for)
    outcomes = fire(server.url, 16, None,
                    lambda i, c, ctx: c.post("/sessions/second-factor",
                                             {"challenge": challenge, "password": f"wrong guess {i}"}))
    counts = tally(outcomes)
    message = report("password step, 16 wrong passwords", counts)
    assert 1 <= counts.get("401 invalid_credentials", 0) <= 5, message
    assert _only(counts, "401 invalid_credentials", "423 account_locked"), message
    late = client.post("/sessions/second-factor", {"challenge": challenge, "password": PASSWORD})
    assert late.label == "423 account_locked", late
