"""The second step cannot be skipped (issue 11, item 5): every cell of mode x method.

Before: with LOGIN_SECOND_FACTOR=always (or new_device from a new device), a sign-in by
emailed code alone gave a full session from one factor, the mailbox. Now a code sign-in that
needs a second step must also pass the password; docs/security.md has the matrix.
"""

import re

import pytest

from .support import Api

PASSWORD = "correct horse battery"
SETTINGS = dict(RESEND_COOLDOWN=0, SEND_LIMIT_PER_EMAIL="20 per 5 minutes", CAPTCHA_ENABLED=False)


def _password_login(api, device=None):
    body = {"login": "alice", "password": PASSWORD}
    if device:
        body["device_token"] = device
    return api.post("/sessions", json=body)


def _code_login(api, box, device=None):
    assert api.post("/login-codes", json={"email": "alice@example.com"}).status_code == 202
    body = {"email": "alice@example.com", "code": box.code("alice@example.com")}
    if device:
        body["device_token"] = device
    return api.post("/sessions/code", json=body)


def _finish(api, box, answer):
    """Complete whatever second step the 202 asks for; returns the final response."""
    body = answer.get_json()
    assert answer.status_code == 202 and body["status"] == "second_factor_required", body
    if body["second_step"] == "code":
        return api.post("/sessions/second-factor", json={"challenge": body["challenge"],
                                                         "code": box.code("alice@example.com")})
    return api.post("/sessions/second-factor", json={"challenge": body["challenge"], "password": PASSWORD})


def _steps(api, box, answer):
    """The steps a sign-in took: ['first'] or ['first', 'code'|'password']."""
    if answer.status_code == 200:
        return [], answer
    step = answer.get_json().get("second_step")
    done = _finish(api, box, answer)
    assert done.status_code == 200, done.get_json()
    return [step], done


@pytest.mark.parametrize("mode, device, method, expected", [
    ("off", None, "password", []),
    ("off", None, "code", []),
    ("always", None, "password", ["code"]),
    ("always", None, "code", ["password"]),
    ("always", "known", "code", ["password"]),
    ("new_device", "known", "password", []),
    ("new_device", "known", "code", []),
    ("new_device", "new", "password", ["code"]),
    ("new_device", "new", "code", ["password"]),
])
def test_every_cell_of_the_matrix(make_service, mode, device, method, expected):
    service = make_service(LOGIN_SECOND_FACTOR=mode, **SETTINGS)
    api, box = service.api, service.mailbox
    service.register_user()
    token = None
    if device == "known":  # a device that passed both factors once
        _steps_taken, done = _steps(api, box, _password_login(api))
        token = done.get_json().get("device_token")
        assert token or mode == "always"
    first = _password_login(api, token) if method == "password" else _code_login(api, box, token)
    steps, done = _steps(api, box, first)
    assert steps == expected
    # a sign-in that passed two factors is a full session; a code alone stays code-only
    change = api.post("/me/password", token=done.get_json()["token"], json={
        "current_password": PASSWORD, "new_password": "a brand new passphrase"})
    code_only = method == "code" and not steps
    assert change.status_code == (401 if code_only else 200), change.get_json()


def test_the_password_step_counts_toward_the_lockout_and_is_single_use(make_service):
    service = make_service(LOGIN_SECOND_FACTOR="always", **SETTINGS)
    api, box = service.api, service.mailbox
    service.register_user()
    pending = _code_login(api, box).get_json()
    assert pending["second_step"] == "password" and "token" not in pending
    wrong = api.post("/sessions/second-factor", json={"challenge": pending["challenge"], "password": "nope nope nope"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "invalid_credentials"
    # a code where a password is due is refused with a field error, not accepted
    as_code = api.post("/sessions/second-factor", json={"challenge": pending["challenge"], "code": "123456"})
    assert as_code.status_code == 400 and "password" in as_code.get_json()["error"]["fields"]
    ok = api.post("/sessions/second-factor", json={"challenge": pending["challenge"], "password": PASSWORD})
    assert ok.status_code == 200
    again = api.post("/sessions/second-factor", json={"challenge": pending["challenge"], "password": PASSWORD})
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "code_expired"
    for i in range(5):
        pending = _code_login(api, box).get_json()
        api.post("/sessions/second-factor", json={"challenge": pending["challenge"], "password": f"bad {i} guess"})
    locked = api.post("/sessions", json={"login": "alice", "password": PASSWORD})
    assert locked.status_code == 423


def test_code_sign_in_page_asks_for_the_password_when_a_second_step_is_due(make_service):
    service = make_service(LOGIN_SECOND_FACTOR="always", **SETTINGS)
    service.register_user()
    browser, box = service.browser, service.mailbox
    sent = browser.submit("/login/code", {"email": "alice@example.com"})
    assert sent.status_code == 302
    verified = browser.submit("/login/code/verify", {"code": box.code("alice@example.com")})
    assert verified.status_code == 302 and verified.headers["Location"].endswith("/login/verify")
    page = browser.get("/login/verify").get_data(as_text=True)
    assert 'type="password"' in page and 'autocomplete="current-password"' in page
    assert browser.get("/account").status_code == 302  # not signed in yet
    done = browser.submit("/login/verify", {"password": PASSWORD})
    assert done.status_code == 302 and "/account" in done.headers["Location"]
    account = browser.get("/account")
    assert account.status_code == 200
    # both factors passed: the password-change page opens without asking again
    assert browser.get("/account/password").status_code == 200
    assert not re.search(r"confirm-password", browser.get("/account/password").headers.get("Location", ""))


def test_an_api_client_cannot_skip_the_step_by_calling_another_endpoint(make_service):
    service = make_service(LOGIN_SECOND_FACTOR="always", **SETTINGS)
    api, box = service.api, service.mailbox
    service.register_user()
    pending = _code_login(api, box).get_json()
    # the challenge is no token
    assert Api(service.app.test_client()).get("/me", token=pending["challenge"]).status_code == 401
