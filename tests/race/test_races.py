"""Simultaneous requests against a real gunicorn (2 workers x 8 threads) with the default
flow settings: lockout, the captcha threshold, reauthentication, change password, single-use
captchas, per-address send limits and concurrent registration confirmations.

Each test states the required behaviour: N requests that race through a check-then-count
window must not buy more attempts than the budget allows. The counts of every burst are in
the assertion messages (and printed; run with -s or -rP to see them when a test passes).
"""

import threading
import time

import pytest

from .harness import PASSWORD, fire, register, report, tally

pytestmark = pytest.mark.slow

BURST = 16


@pytest.fixture(scope="module")
def server(start_gunicorn):
    return start_gunicorn()


def _allowed(counts, *labels):
    return all(label in labels for label in counts)


# -- the harness itself ------------------------------------------------------------------

def test_sanity_server_and_happy_path_under_concurrency(server, state, client_for):
    """The server answers, registration and sign-in work (the mail it queues reaches this
    process' mailbox: one Redis; its audit rows are counted here: one database), and a burst
    of 16 really overlaps. (The burst is 16 registrations of 16 addresses: bcrypt, captcha,
    send limits and the mail queue, and nothing that a per-account budget may refuse.)"""
    client = client_for(server)
    assert client.session.get(f"{server.url}/readyz", timeout=10).status_code == 200
    _user, token = register(client, state.mailbox, "alice@example.com", "alice")
    assert client.get("/me", token=token).status == 200
    wrong = client.post("/sessions", {"login": "alice", "password": "not the password"})
    assert wrong.label == "401 invalid_credentials", wrong
    assert state.audit_count("login.failure") == 1  # audit rows are where the tests look
    right = client.post("/sessions", {"login": "alice", "password": PASSWORD})
    assert right.status == 200 and right.body.get("token"), right

    spans = []
    lock = threading.Lock()

    def send(i, c, cap):
        start = time.monotonic()
        outcome = c.post("/registrations", {"email": f"walker{i}@example.com", "username": f"walker{i}",
                                            "password": "violet harbour lantern 7", **cap})
        with lock:
            spans.append((start, time.monotonic()))
        return outcome

    outcomes = fire(server.url, BURST, lambda i, c: c.captcha(), send)
    counts = tally(outcomes)
    # the most requests in flight at one moment
    overlap = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    mailed = {to for m in state.mailbox.messages() for to in m["to"] if to.startswith("walker")}
    report("sanity: 16 registrations", counts, max_in_flight=overlap, mails=len(mailed))
    assert counts == {"202": BURST}, counts
    assert len(mailed) == BURST, sorted(mailed)
    assert overlap >= 4, f"the burst did not overlap: at most {overlap} requests in flight"


# -- 1. lockout ----------------------------------------------------------------------------

def _burst_of_wrong_passwords(server, state, name, login, captcha=True):
    """BURST simultaneous wrong passwords for `login`: (counts, login.failure rows, message)."""
    outcomes = fire(server.url, BURST, (lambda i, c: c.captcha()) if captcha else None,
                    lambda i, c, cap: c.post("/sessions", {"login": login, "password": f"wrong password {i}",
                                                           **(cap or {})}))
    counts = tally(outcomes)
    failures = state.audit_count("login.failure")
    return counts, failures, report(name, counts, login_failure_rows=failures)


def test_parallel_wrong_passwords_lock_after_five_checks(server, state, client_for):
    client = client_for(server)
    register(client, state.mailbox, "alice@example.com", "alice")

    counts, failures, message = _burst_of_wrong_passwords(server, state, "lockout", "alice")
    checked = counts.get("401 invalid_credentials", 0)
    assert _allowed(counts, "401 invalid_credentials", "423 account_locked"), message
    assert 1 <= checked <= 5, message
    assert failures <= 5, message

    right = client.post("/sessions", {"login": "alice", "password": PASSWORD, **client.captcha()})
    assert right.label == "423 account_locked", right


# -- 2. captcha threshold ------------------------------------------------------------------

def test_parallel_wrong_passwords_without_captcha_stop_at_the_captcha_threshold(server, state, client_for):
    client = client_for(server)
    register(client, state.mailbox, "alice@example.com", "alice")

    counts, failures, message = _burst_of_wrong_passwords(server, state, "captcha threshold", "alice",
                                                          captcha=False)
    assert _allowed(counts, "401 invalid_credentials", "400 captcha_required", "423 account_locked"), message
    assert 1 <= counts.get("401 invalid_credentials", 0) <= 3, message
    assert failures <= 3, message


# -- 3. unknown login name -----------------------------------------------------------------

def test_unknown_login_locks_like_a_real_account(server, state, client_for):
    client = client_for(server)
    counts, failures, message = _burst_of_wrong_passwords(server, state, "unknown login", "nobodyhere")
    assert _allowed(counts, "401 invalid_credentials", "423 account_locked"), message
    assert 1 <= counts.get("401 invalid_credentials", 0) <= 5, message
    assert failures <= 5, message

    again = client.post("/sessions", {"login": "nobodyhere", "password": "another guess",
                                      **client.captcha()})
    assert again.label == "423 account_locked", again


# -- 4. reauthentication -------------------------------------------------------------------

def test_parallel_wrong_reauthentications_lock_after_five_checks(server, state, client_for):
    client = client_for(server)
    _user, token = register(client, state.mailbox, "alice@example.com", "alice")

    outcomes = fire(server.url, BURST, None,
                    lambda i, c, ctx: c.post("/sessions/reauthenticate",
                                             {"password": f"wrong password {i}"}, token=token))
    counts = tally(outcomes)
    failures = state.audit_count("login.failure")
    message = report("reauthenticate", counts, login_failure_rows=failures)
    assert _allowed(counts, "401 invalid_credentials", "423 account_locked"), message
    assert 1 <= counts.get("401 invalid_credentials", 0) <= 5, message
    assert failures <= 5, message

    right = client.post("/sessions/reauthenticate", {"password": PASSWORD}, token=token)
    assert right.label == "423 account_locked", right


# -- 5. change password --------------------------------------------------------------------

def test_parallel_wrong_current_passwords_share_the_signin_budget(server, state, client_for):
    client = client_for(server)
    _user, token = register(client, state.mailbox, "alice@example.com", "alice")

    outcomes = fire(server.url, BURST, None,
                    lambda i, c, ctx: c.post("/me/password", {
                        "current_password": f"wrong password {i}",
                        "new_password": "a completely fresh passphrase 42"}, token=token))
    counts = tally(outcomes)
    failures = state.audit_count("login.failure")
    message = report("change password", counts, login_failure_rows=failures)
    checked = [o for o in outcomes if o.status != 423]
    assert all(o.label == "400 invalid_input" and "current_password" in o.body["error"].get("fields", {})
               for o in checked), message
    assert all(o.label == "423 account_locked" for o in outcomes if o.status == 423), message
    assert 1 <= len(checked) <= 5, message
    assert failures <= 5, message

    # the account is locked for sign-in too, right password or not
    right = client.post("/sessions", {"login": "alice", "password": PASSWORD, **client.captcha()})
    assert right.label == "423 account_locked", right


# -- 8. one captcha, many requests ---------------------------------------------------------

def test_one_solved_captcha_admits_exactly_one_request(server, state, client_for):
    solved = client_for(server).captcha()
    outcomes = fire(server.url, BURST, None,
                    lambda i, c, ctx: c.post("/password-resets",
                                             {"email": f"reader{i}@example.com", **solved}))
    counts = tally(outcomes)
    message = report("captcha reuse", counts)
    assert counts.get("202", 0) == 1, message
    assert counts.get("400 captcha_invalid", 0) == BURST - 1, message


def test_a_limited_burst_gives_one_solved_captcha_back_once(server, state, client_for):
    """Half the burst asks for an address in its cooldown (429: the captcha is put back),
    half for fresh addresses (accepted: the captcha is spent). Taking and putting back are
    atomic, so one captcha admits at most one request in the burst, and exactly one over the
    burst and a later retry together."""
    client = client_for(server)
    assert client.post("/password-resets", {"email": "waiting@example.com", **client.captcha()}).status == 202
    solved = client.captcha()
    outcomes = fire(server.url, BURST, None,
                    lambda i, c, ctx: c.post("/password-resets", {
                        "email": "waiting@example.com" if i % 2 else f"fresh{i}@example.com", **solved}))
    counts = tally(outcomes)
    later = client.post("/password-resets", {"email": "later@example.com", **solved})
    message = report("captcha kept by a 429", counts, later=later.label)
    assert _allowed(counts, "202", "429 rate_limited", "400 captcha_invalid"), message
    assert counts.get("202", 0) + (later.status == 202) == 1, message


# -- 9. send limits ------------------------------------------------------------------------

def test_parallel_reset_requests_for_one_address_send_exactly_three(server, state, client_for):
    outcomes = fire(server.url, BURST, lambda i, c: c.captcha(),
                    lambda i, c, cap: c.post("/password-resets", {"email": "target@example.com", **cap}))
    counts = tally(outcomes)
    requested = state.audit_count("password.reset_requested")
    message = report("send limit", counts, reset_requested_rows=requested)
    assert counts.get("202", 0) == 3, message
    assert counts.get("429 rate_limited", 0) == BURST - 3, message
    for outcome in outcomes:
        if outcome.status == 429:
            assert int(outcome.headers.get("Retry-After", "0")) >= 1, outcome.headers
    assert requested == 3, message


# -- 10. two registrations of one address, confirmed at once --------------------------------

def test_concurrent_confirmations_of_two_registrations_create_one_user(server, state, client_for):
    """Against the registration API with `registration_id` (registration -> confirm)."""
    email = "bob@example.com"
    client = client_for(server)
    registrations = []
    for username, password in (("bobfirst", "violet harbour lantern 7"),
                               ("bobsecond", "maple orchard quarry 9")):
        started = client.post("/registrations", {"email": email, "username": username,
                                                 "password": password,
                                                 **client.captcha()})
        assert started.status == 202, started
        assert "registration_id" in started.body, \
            f"the registration answer carries no registration_id (the new API): {started.body}"
        registrations.append((username, started.body["registration_id"], state.mailbox.code(email)))
    assert registrations[0][1] != registrations[1][1]

    def confirm(i, c, ctx):
        _username, rid, code = registrations[i % 2]
        return c.post("/registrations/confirm", {"email": email, "code": code, "registration_id": rid})

    outcomes = fire(server.url, BURST, None, confirm)
    counts = tally(outcomes)
    users = state.users_with_email(email)
    message = report("registration confirm", counts, users=users)
    assert counts.get("201", 0) == 1, message
    assert all(400 <= o.status < 500 for o in outcomes if o.status != 201), message
    assert len(users) == 1, message
    winner = next(i for i, o in enumerate(outcomes) if o.status == 201) % 2
    assert users == [registrations[winner][0]], message
    loser = [o for i, o in enumerate(outcomes) if i % 2 != winner]
    # the loser's own, right code: the address was taken meanwhile
    assert any(o.label == "409 conflict" for o in loser), message
    assert all(o.label in ("409 conflict", "400 code_expired") for o in loser), message
