"""Authenticator app (issue 13): enrolment, codes computed with pyotp from the enrolment
secret, drift, replay, the shared lockout, sign-in in every mode, removal, rotation."""

import time

import pyotp
import pytest

from authsvc.extensions import db
from authsvc.models import AuditEvent, TotpFactor

from .support import text_of

PASSWORD = "correct horse battery"
SETTINGS = dict(RESEND_COOLDOWN=0, SEND_LIMIT_PER_EMAIL="20 per 5 minutes", CAPTCHA_ENABLED=False)


class Clock:
    """The server's clock for TOTP, shifted: enrolling "two minutes ago" leaves the steps
    around now unused, so a test can pick any of them."""

    def __init__(self, monkeypatch):
        import types

        from authsvc.services import totp

        self.offset = 0
        monkeypatch.setattr(totp, "time", types.SimpleNamespace(time=lambda: time.time() + self.offset))


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def enrol(api, token, now=None, clock=None):
    """Enrol an app through the API (at `now`, shifting `clock` there); returns (secret, answer)."""
    if clock is not None and now is not None:
        clock.offset = now - time.time()
    started = api.post("/me/factors/totp", token=token)
    assert started.status_code == 201, started.get_json()
    body = started.get_json()
    assert body["otpauth_uri"].startswith("otpauth://totp/") and body["qr_svg"].startswith("<svg")
    secret = body["secret"]
    assert body["secret_grouped"].replace(" ", "") == secret
    code = pyotp.TOTP(secret).at(now or time.time())
    done = api.post("/me/factors/totp/confirm", token=token, json={"code": code})
    assert done.status_code == 200, done.get_json()
    if clock is not None:
        clock.offset = 0
    return secret, done.get_json()


def next_code(secret, after):
    """A code of a step later than the one `after` used (wait for it rather than reuse)."""
    return pyotp.TOTP(secret).at(after + 30)


def sign_in(api, password=PASSWORD):
    answer = api.post("/sessions", json={"login": "alice", "password": password})
    return answer, answer.get_json()


def events(app, name):
    with app.app_context():
        return [e.detail for e in db.session.query(AuditEvent).filter_by(event=name).order_by(AuditEvent.id)]


@pytest.fixture
def alice(make_service):
    service = make_service(**SETTINGS)
    _user, token = service.register_user()
    return service, token


def test_enrolment_needs_a_right_code_and_stores_the_secret_sealed(alice):
    service, token = alice
    api = service.api
    started = api.post("/me/factors/totp", token=token).get_json()
    secret = started["secret"]
    # the same pending secret comes back while the set-up lasts (a reload does not void a scan)
    assert api.post("/me/factors/totp", token=token).get_json()["secret"] == secret
    assert "<script" not in started["qr_svg"] and "http" not in started["qr_svg"].split("xmlns")[0]
    wrong = api.post("/me/factors/totp/confirm", token=token, json={"code": "000000"
                     if pyotp.TOTP(secret).now() != "000000" else "111111"})
    assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "invalid_code"
    assert api.get("/me/factors", token=token).get_json()["totp"] == {"enrolled": False}
    done = api.post("/me/factors/totp/confirm", token=token, json={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = done.get_json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    with service.app.app_context():
        row = db.session.query(TotpFactor).one()
        assert secret not in row.secret and row.key_id == "k0" and row.last_step is not None
    listed = api.get("/me/factors", token=token).get_json()
    assert listed["totp"]["enrolled"] and listed["recovery_codes_remaining"] == 10 and listed["second_step"] == "totp"
    # a second app is refused; the set-up was used up
    assert api.post("/me/factors/totp", token=token).status_code == 409
    assert api.post("/me/factors/totp/confirm", token=token, json={"code": "123456"}).get_json()["error"]["code"] \
        == "code_expired"
    assert [e["kind"] for e in events(service.app, "factor.enrolled")] == ["totp"]
    assert events(service.app, "factor.failed")[0]["stage"] == "enrol"
    mail = service.mailbox.last("alice@example.com")
    assert "authenticator" in mail["Subject"].lower() or "身份验证器" in mail["Subject"]


def test_sign_in_asks_for_the_app_even_with_the_second_step_off(alice):
    service, token = alice
    api = service.api
    secret, _first = enrol(api, token)
    sent_before = len(service.mailbox.messages("alice@example.com"))
    answer, body = sign_in(api)
    assert answer.status_code == 202 and body["second_step"] == "totp", body
    assert body["alternatives"] == ["recovery_code"] and "token" not in body
    assert len(service.mailbox.messages("alice@example.com")) == sent_before  # no emailed code
    # the emailed code is not offered for this step
    resend = api.post("/sessions/second-factor/resend", json={"challenge": body["challenge"]})
    assert resend.status_code == 400
    missing = api.post("/sessions/second-factor", json={"challenge": body["challenge"]})
    assert missing.status_code == 400 and "totp" in missing.get_json()["error"]["fields"]
    done = api.post("/sessions/second-factor", json={"challenge": body["challenge"],
                                                    "totp": next_code(secret, time.time())})
    assert done.status_code == 200, done.get_json()
    assert api.get("/me", token=done.get_json()["token"]).status_code == 200
    assert events(service.app, "login.success")[-1] == {"method": "password+totp"}
    assert events(service.app, "factor.used")[-1] == {"kind": "totp"}


@pytest.mark.parametrize("drift", [-30, 0, 30])
def test_one_step_of_drift_either_way_is_accepted(alice, clock, drift):
    service, token = alice
    secret, _first = enrol(service.api, token, now=time.time() - 120, clock=clock)
    _answer, body = sign_in(service.api)
    code = pyotp.TOTP(secret).at(time.time() + drift)
    done = service.api.post("/sessions/second-factor", json={"challenge": body["challenge"], "totp": code})
    assert done.status_code == 200, done.get_json()


@pytest.mark.parametrize("drift", [-90, 90])
def test_codes_further_off_are_refused(alice, clock, drift):
    service, token = alice
    secret, _first = enrol(service.api, token, now=time.time() - 300, clock=clock)
    _answer, body = sign_in(service.api)
    code = pyotp.TOTP(secret).at(time.time() + drift)
    if code in {pyotp.TOTP(secret).at(time.time() + d) for d in (-30, 0, 30)}:
        pytest.skip("the far code happens to equal a near one")
    refused = service.api.post("/sessions/second-factor", json={"challenge": body["challenge"], "totp": code})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "invalid_code"
    assert refused.get_json()["error"]["remaining_attempts"] == 4


def test_a_used_code_is_never_accepted_again(alice, clock):
    service, token = alice
    api = service.api
    secret, _first = enrol(api, token, now=time.time() - 120, clock=clock)
    code = pyotp.TOTP(secret).now()
    _answer, first = sign_in(api)
    assert api.post("/sessions/second-factor", json={"challenge": first["challenge"], "totp": code}).status_code == 200
    _answer, second = sign_in(api)
    replay = api.post("/sessions/second-factor", json={"challenge": second["challenge"], "totp": code})
    assert replay.status_code == 400 and replay.get_json()["error"]["code"] == "invalid_code"
    assert "already used" in replay.get_json()["error"]["message"] or "已用过" in replay.get_json()["error"]["message"]
    # an older step is refused too: the accepted step only moves forward
    older = pyotp.TOTP(secret).at(time.time() - 30)
    if older != code:
        again = api.post("/sessions/second-factor", json={"challenge": second["challenge"], "totp": older})
        assert again.status_code == 400
    assert [e["reason"] for e in events(service.app, "factor.failed") if e.get("kind") == "totp"][:1] == ["replayed"]


def test_wrong_app_codes_feed_the_password_lockout(alice):
    service, token = alice
    api = service.api
    secret, _first = enrol(api, token)
    _answer, body = sign_in(api)
    near = {pyotp.TOTP(secret).at(time.time() + d) for d in (-60, -30, 0, 30, 60)}
    wrong = [c for c in (f"{n:06d}" for n in range(100000, 100100)) if c not in near]
    # two wrong passwords first: the app codes share their budget
    for i in range(2):
        assert sign_in(api, f"wrong password {i}")[0].status_code == 401
    answers = [api.post("/sessions/second-factor", json={"challenge": body["challenge"], "totp": wrong[i]})
               for i in range(3)]
    assert [a.status_code for a in answers] == [400, 400, 423]
    assert [a.get_json()["error"].get("remaining_attempts") for a in answers[:2]] == [2, 1]
    # locked: the right code and the right password both wait
    late = api.post("/sessions/second-factor", json={"challenge": body["challenge"],
                                                     "totp": next_code(secret, time.time())})
    assert late.status_code == 423
    assert sign_in(api)[0].status_code == 423
    assert events(service.app, "login.locked")


def test_code_sign_in_still_asks_for_the_app_and_stays_code_only(make_service):
    service = make_service(**SETTINGS)
    _user, token = service.register_user()
    secret, _first = enrol(service.api, token)
    api, box = service.api, service.mailbox
    assert api.post("/login-codes", json={"email": "alice@example.com"}).status_code == 202
    started = api.post("/sessions/code", json={"email": "alice@example.com", "code": box.code("alice@example.com")})
    body = started.get_json()
    assert started.status_code == 202 and body["second_step"] == "totp", body
    done = api.post("/sessions/second-factor", json={"challenge": body["challenge"],
                                                    "totp": next_code(secret, time.time())})
    assert done.status_code == 200
    # the password was never shown: security changes still ask for it
    change = api.post("/me/password", token=done.get_json()["token"], json={
        "current_password": PASSWORD, "new_password": "a brand new passphrase"})
    assert change.status_code == 401 and change.get_json()["error"]["code"] == "reauthentication_required"


@pytest.mark.parametrize("mode", ["always", "new_device"])
def test_the_app_replaces_the_emailed_step_in_every_mode(make_service, mode):
    service = make_service(LOGIN_SECOND_FACTOR=mode, **SETTINGS)
    _user, token = service.register_user()
    api = service.api
    started = api.post("/sessions", json={"login": "alice", "password": PASSWORD}).get_json()
    assert started["second_step"] == "code"  # nothing stronger yet: the emailed code
    secret, _first = enrol(api, token)
    sent_before = len(service.mailbox.messages("alice@example.com"))
    _answer, body = sign_in(api)
    assert body["second_step"] == "totp"
    assert len(service.mailbox.messages("alice@example.com")) == sent_before
    done = api.post("/sessions/second-factor", json={"challenge": body["challenge"],
                                                    "totp": next_code(secret, time.time())})
    assert done.status_code == 200


def test_a_password_reset_keeps_the_app(make_service):
    service = make_service(AUTO_LOGIN_AFTER_RESET=True, **SETTINGS)
    _user, token = service.register_user()
    api, box = service.api, service.mailbox
    enrol(api, token)
    assert api.post("/password-resets", json={"email": "alice@example.com"}).status_code == 202
    reset = api.post("/password-resets/confirm", json={
        "email": "alice@example.com", "code": box.code("alice@example.com"), "new_password": "another long passphrase"})
    assert reset.status_code == 200 and "token" not in reset.get_json()  # no sign-in past the app
    answer, body = sign_in(api, "another long passphrase")
    assert answer.status_code == 202 and body["second_step"] == "totp"


def test_removing_the_app_needs_the_password_and_tells_the_owner(alice):
    service, token = alice
    api = service.api
    enrol(api, token)
    wrong = api.post("/me/factors/totp/remove", token=token, json={"password": "not my password"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "invalid_credentials"
    assert api.get("/me/factors", token=token).get_json()["totp"]["enrolled"]
    done = api.post("/me/factors/totp/remove", token=token, json={"password": PASSWORD})
    assert done.status_code == 200
    listed = api.get("/me/factors", token=token).get_json()
    assert listed == {"totp": {"enrolled": False}, "passkeys": [], "recovery_codes_remaining": 0,
                      "second_step": None}
    assert api.post("/me/factors/totp/remove", token=token, json={"password": PASSWORD}).status_code == 404
    assert sign_in(api)[0].status_code == 200  # no second step any more
    assert events(service.app, "factor.removed") == [{"kind": "totp"}]
    notice = service.mailbox.last("alice@example.com")
    assert "removed" in text_of(notice) or "移除" in text_of(notice)


def test_a_code_only_token_cannot_enrol_without_the_password(make_service):
    service = make_service(**SETTINGS)
    service.register_user()
    api, box = service.api, service.mailbox
    api.post("/login-codes", json={"email": "alice@example.com"})
    token = api.post("/sessions/code", json={"email": "alice@example.com",
                                             "code": box.code("alice@example.com")}).get_json()["token"]
    refused = api.post("/me/factors/totp", token=token)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "reauthentication_required"


def test_secrets_stay_readable_across_a_key_rotation(make_service, base_config, clock):
    service = make_service(**SETTINGS)
    _user, token = service.register_user()
    secret, _first = enrol(service.api, token, now=time.time() - 120, clock=clock)
    # the operator rotates: a new key first, the old one (k0 = the SECRET_KEY) kept to open
    rotated = make_service(FACTOR_KEYS=f"k1=a-brand-new-factor-key-0123456789,k0={base_config['SECRET_KEY']}",
                           **SETTINGS)
    _answer, body = sign_in(rotated.api)
    done = rotated.api.post("/sessions/second-factor", json={"challenge": body["challenge"],
                                                            "totp": pyotp.TOTP(secret).now()})
    assert done.status_code == 200, done.get_json()
    with rotated.app.app_context():
        row = db.session.query(TotpFactor).one()
        assert row.key_id == "k1"  # re-sealed under the current key as it was used


def test_a_new_device_passing_the_app_step_is_announced_and_a_known_one_is_not(make_service, clock):
    service = make_service(NOTIFY_NEW_DEVICE=True, **SETTINGS)
    _user, token = service.register_user()
    api, box = service.api, service.mailbox
    secret, _first = enrol(api, token, now=time.time() - 120, clock=clock)
    before = len(box.messages("alice@example.com"))
    _answer, body = sign_in(api)
    done = api.post("/sessions/second-factor", json={"challenge": body["challenge"],
                                                    "totp": pyotp.TOTP(secret).at(time.time() - 30)})
    device = done.get_json()["device_token"]
    mails = box.messages("alice@example.com")[before:]
    assert len(mails) == 1 and "新的登录" in mails[0]["message"]["Subject"]  # "New sign-in to your account"
    # the same device again: it keeps its token and nobody is mailed
    started = api.post("/sessions", json={"login": "alice", "password": PASSWORD, "device_token": device})
    assert started.status_code == 202  # the app is still asked on a known device
    again = api.post("/sessions/second-factor", json={"challenge": started.get_json()["challenge"],
                                                     "totp": pyotp.TOTP(secret).now()})
    assert again.status_code == 200 and again.get_json()["device_token"] == device
    assert len(box.messages("alice@example.com")) == before + 1
