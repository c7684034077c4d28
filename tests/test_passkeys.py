"""Passkeys (issue 13) through the API, answered by a software authenticator with real keys
(tests/support/authenticator.py): enrolment, sign-in with and without a login name, the
second step, the counter, single-use and bound challenges, origin and RP id, removal."""

import time

import pytest

from authsvc.extensions import db
from authsvc.models import AuditEvent, Passkey, User

from .support import text_of
from .support.authenticator import SoftAuthenticator

PASSWORD = "correct horse battery"
SETTINGS = dict(RESEND_COOLDOWN=0, SEND_LIMIT_PER_EMAIL="20 per 5 minutes", CAPTCHA_ENABLED=False)


def events(app, name):
    with app.app_context():
        return [e.detail for e in db.session.query(AuditEvent).filter_by(event=name).order_by(AuditEvent.id)]


def enrol(api, token, device, name="MacBook"):
    options = api.post("/me/passkeys/registration-options", token=token)
    assert options.status_code == 200, options.get_json()
    body = options.get_json()
    done = api.post("/me/passkeys", token=token, json={
        "challenge_id": body["challenge_id"], "credential": device.create(body["publicKey"]), "name": name})
    assert done.status_code == 201, done.get_json()
    return done.get_json()


def passkey_sign_in(api, device, **bend):
    options = api.post("/sessions/passkey/options").get_json()
    return api.post("/sessions/passkey", json={"challenge_id": options["challenge_id"],
                                               "credential": device.get(options["publicKey"], **bend)})


@pytest.fixture
def alice(make_service):
    service = make_service(**SETTINGS)
    _user, token = service.register_user()
    return service, token


def test_enrolment_lists_the_passkey_with_its_authenticator_and_mails_the_owner(alice):
    service, token = alice
    api, device = service.api, SoftAuthenticator()
    options = api.post("/me/passkeys/registration-options", token=token).get_json()
    public_key = options["publicKey"]
    assert public_key["rp"]["id"] == "accounts.example.com"
    assert public_key["authenticatorSelection"]["userVerification"] == "required"
    assert public_key["authenticatorSelection"]["residentKey"] == "required"
    with service.app.app_context():
        user = db.session.query(User).one()
        handle = user.passkey_handle
    assert public_key["user"]["id"] == handle and handle != str(user.id) and len(handle) == 43
    credential = device.create(public_key)
    done = api.post("/me/passkeys", token=token, json={
        "challenge_id": options["challenge_id"], "credential": credential, "name": "  MacBook  "})
    assert done.status_code == 201, done.get_json()
    answer = done.get_json()
    assert answer["passkey"]["name"] == "MacBook"
    assert answer["passkey"]["authenticator"] == "Google Password Manager"
    assert answer["passkey"]["aaguid"] == "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"
    assert len(answer["recovery_codes"]) == 10  # the first factor brings them
    listed = api.get("/me/passkeys", token=token).get_json()
    assert listed["total"] == 1 and listed["items"][0]["last_used_at"] is None
    factors = api.get("/me/factors", token=token).get_json()
    assert factors["second_step"] == "passkey" and factors["passkeys"][0]["name"] == "MacBook"
    # the same answer again: its challenge is used up
    again = api.post("/me/passkeys", token=token, json={
        "challenge_id": options["challenge_id"], "credential": credential, "name": "Again"})
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "code_expired"
    # a second registration excludes the first passkey
    second = api.post("/me/passkeys/registration-options", token=token).get_json()
    assert [c["id"] for c in second["publicKey"]["excludeCredentials"]] == [credential["id"]]
    mail = service.mailbox.last("alice@example.com")
    assert "passkey" in mail["Subject"].lower() or "通行密钥" in mail["Subject"]
    assert "MacBook" in text_of(mail)
    assert events(service.app, "factor.enrolled")[0]["kind"] == "passkey"


def test_sign_in_with_a_passkey_alone_without_a_login_name(alice):
    service, token = alice
    api, device = service.api, SoftAuthenticator()
    enrol(api, token, device)
    options = api.post("/sessions/passkey/options").get_json()
    assert options["publicKey"]["allowCredentials"] == [] and options["publicKey"]["userVerification"] == "required"
    signed_in = api.post("/sessions/passkey", json={"challenge_id": options["challenge_id"],
                                                    "credential": device.get(options["publicKey"])})
    assert signed_in.status_code == 200, signed_in.get_json()
    new_token = signed_in.get_json()["token"]
    assert api.get("/me", token=new_token).get_json()["username"] == "alice"
    # a whole sign-in: sensitive actions need no password confirmation
    assert api.post("/me/passkeys/registration-options", token=new_token).status_code == 200
    assert events(service.app, "login.success")[-1] == {"method": "passkey"}
    assert events(service.app, "factor.used")[-1]["stage"] == "sign_in"
    assert api.get("/me/passkeys", token=new_token).get_json()["items"][0]["last_used_at"]
    # the answer again, to the same challenge: used up
    replay = api.post("/sessions/passkey", json={"challenge_id": options["challenge_id"],
                                                 "credential": device.get(options["publicKey"])})
    assert replay.status_code == 400 and replay.get_json()["error"]["code"] == "code_expired"
    # an old answer to a new challenge: its signature covers the old one
    old = device.get(options["publicKey"])
    fresh = api.post("/sessions/passkey/options").get_json()
    refused = api.post("/sessions/passkey", json={"challenge_id": fresh["challenge_id"], "credential": old})
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "invalid_credentials"


def test_password_sign_in_asks_for_the_passkey_as_second_step(alice):
    service, token = alice
    api, device = service.api, SoftAuthenticator()
    enrol(api, token, device)
    sent_before = len(service.mailbox.messages("alice@example.com"))
    first = api.post("/sessions", json={"login": "alice", "password": PASSWORD})
    body = first.get_json()
    assert first.status_code == 202 and body["second_step"] == "passkey", body
    assert body["alternatives"] == ["recovery_code"]
    assert [c["id"] for c in body["passkey"]["publicKey"]["allowCredentials"]] == [_id(device)]
    assert len(service.mailbox.messages("alice@example.com")) == sent_before  # no emailed code
    nothing = api.post("/sessions/second-factor", json={"challenge": body["challenge"]})
    assert nothing.status_code == 400 and "credential" in nothing.get_json()["error"]["fields"]
    done = api.post("/sessions/second-factor", json={
        "challenge": body["challenge"], "challenge_id": body["passkey"]["challenge_id"],
        "credential": device.get(body["passkey"]["publicKey"])})
    assert done.status_code == 200, done.get_json()
    assert events(service.app, "login.success")[-1] == {"method": "password+passkey"}
    # after an emailed code as first step too (new options for a new try come from /options)
    code_first = api.post("/login-codes", json={"email": "alice@example.com"})
    assert code_first.status_code == 202
    step = api.post("/sessions/code", json={"email": "alice@example.com",
                                            "code": service.mailbox.code("alice@example.com")}).get_json()
    assert step["second_step"] == "passkey"
    options = api.post("/sessions/passkey/options", json={"challenge": step["challenge"]}).get_json()
    done = api.post("/sessions/second-factor", json={"challenge": step["challenge"],
                                                     "challenge_id": options["challenge_id"],
                                                     "credential": device.get(options["publicKey"])})
    assert done.status_code == 200
    assert events(service.app, "login.success")[-1] == {"method": "code+passkey"}


def _id(device):
    from .support.authenticator import b64

    return b64(device.credentials[0].id)


def test_a_second_steps_passkey_options_serve_no_other_sign_in(alice):
    service, token = alice
    api, device = service.api, SoftAuthenticator()
    enrol(api, token, device)
    one = api.post("/sessions", json={"login": "alice", "password": PASSWORD}).get_json()
    other = api.post("/sessions", json={"login": "alice", "password": PASSWORD}).get_json()
    # the options of one pending step, answered for the other
    crossed = api.post("/sessions/second-factor", json={
        "challenge": other["challenge"], "challenge_id": one["passkey"]["challenge_id"],
        "credential": device.get(one["passkey"]["publicKey"])})
    assert crossed.status_code == 400 and crossed.get_json()["error"]["code"] == "code_expired"
    # nor a sign-in without a second step
    alone = api.post("/sessions/passkey", json={"challenge_id": other["passkey"]["challenge_id"],
                                                "credential": device.get(other["passkey"]["publicKey"])})
    assert alone.status_code == 400 and alone.get_json()["error"]["code"] == "code_expired"


def test_registration_options_serve_only_the_token_that_asked(alice):
    service, token = alice
    api, device = service.api, SoftAuthenticator()
    other_token = api.post("/sessions", json={"login": "alice", "password": PASSWORD}).get_json()["token"]
    options = api.post("/me/passkeys/registration-options", token=token).get_json()
    crossed = api.post("/me/passkeys", token=other_token, json={
        "challenge_id": options["challenge_id"], "credential": device.create(options["publicKey"]), "name": "X"})
    assert crossed.status_code == 400 and crossed.get_json()["error"]["code"] == "code_expired"
    _bob, bob_token = service.register_user(email="bob@example.com", username="bob")
    options = api.post("/me/passkeys/registration-options", token=token).get_json()
    crossed = api.post("/me/passkeys", token=bob_token, json={
        "challenge_id": options["challenge_id"], "credential": device.create(options["publicKey"]), "name": "X"})
    assert crossed.status_code == 400
    assert api.get("/me/passkeys", token=token).get_json()["total"] == 0


@pytest.mark.parametrize("bend", [dict(origin="https://accounts.example.com.evil.test"),
                                  dict(origin="http://accounts.example.com"),
                                  dict(rp_id="evil.test"), dict(uv=False)])
def test_an_answer_made_elsewhere_or_without_user_verification_is_refused(alice, bend):
    service, token = alice
    api, device = service.api, SoftAuthenticator()
    options = api.post("/me/passkeys/registration-options", token=token).get_json()
    refused = api.post("/me/passkeys", token=token, json={
        "challenge_id": options["challenge_id"], "credential": device.create(options["publicKey"], **bend),
        "name": "Phished"})
    assert refused.status_code == 400 and "credential" in refused.get_json()["error"]["fields"]
    assert events(service.app, "factor.failed")[-1]["stage"] == "enrol"
    enrol(api, token, device)
    answer = passkey_sign_in(api, device, **bend)
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "invalid_credentials"
    assert events(service.app, "factor.failed")[-1]["reason"] == "invalid"
    assert passkey_sign_in(api, device).status_code == 200


def test_a_counter_that_goes_backwards_is_refused_and_audited(alice):
    service, token = alice
    api, device = service.api, SoftAuthenticator()
    enrol(api, token, device)
    assert passkey_sign_in(api, device, counter=10).status_code == 200
    for counter in (10, 9):  # the same count again, or a lower one: a copy of the authenticator
        refused = passkey_sign_in(api, device, counter=counter)
        assert refused.status_code == 401
        assert "计数器" in refused.get_json()["error"]["message"]  # says why, in the default zh-CN
    regressions = events(service.app, "passkey.counter_regression")
    assert [(e["stored"], e["presented"]) for e in regressions] == [(10, 10), (10, 9)]
    assert passkey_sign_in(api, device, counter=11).status_code == 200
    with service.app.app_context():
        assert db.session.query(Passkey).one().sign_count == 11


def test_an_authenticator_without_a_counter_signs_in_every_time(alice):
    service, token = alice
    api, device = service.api, SoftAuthenticator(counts=False)
    enrol(api, token, device)
    for _ in range(3):
        assert passkey_sign_in(api, device).status_code == 200
    assert events(service.app, "passkey.counter_regression") == []


def test_deactivated_and_locked_accounts_cannot_sign_in_with_a_passkey(alice):
    service, token = alice
    api, device = service.api, SoftAuthenticator()
    enrol(api, token, device)
    for _ in range(5):
        api.post("/sessions", json={"login": "alice", "password": "wrong password"})
    locked = passkey_sign_in(api, device)
    assert locked.status_code == 423 and locked.headers["Retry-After"]
    with service.app.app_context():
        from authsvc.services import signin

        user = db.session.query(User).one()
        signin.clear_lockout(user)
        user.active = False
        db.session.commit()
    refused = passkey_sign_in(api, device)
    assert refused.status_code == 401
    assert events(service.app, "login.failure")[-1] == {"reason": "inactive", "method": "passkey"}


def test_an_unknown_passkey_is_refused(alice):
    service, token = alice
    api, device = service.api, SoftAuthenticator()
    stranger = SoftAuthenticator()
    enrol(api, token, device)
    stranger.credentials.append(type(device.credentials[0])("accounts.example.com", "x", 1))
    answer = passkey_sign_in(api, stranger)
    assert answer.status_code == 401
    assert events(service.app, "factor.failed")[-1]["reason"] == "unknown_credential"


def test_rename_and_removal_need_the_owner_and_the_password(alice):
    service, token = alice
    api, device = service.api, SoftAuthenticator()
    added = enrol(api, token, device)["passkey"]
    path = f"/me/passkeys/{added['id']}"
    renamed = api.call("PATCH", path, token=token, json={"name": "Work laptop"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Work laptop"
    assert events(service.app, "factor.renamed")[-1]["to"] == "Work laptop"
    assert api.call("PATCH", path, token=token, json={"name": " "}).status_code in (400, 422)
    _bob, bob_token = service.register_user(email="bob@example.com", username="bob")
    assert api.call("PATCH", path, token=bob_token, json={"name": "Mine"}).status_code == 404
    assert api.post(f"{path}/remove", token=bob_token, json={"password": PASSWORD}).status_code == 404
    wrong = api.post(f"{path}/remove", token=token, json={"password": "not the password"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "invalid_credentials"
    missing = api.post(f"{path}/remove", token=token, json={})
    assert missing.status_code == 400
    assert api.get("/me/passkeys", token=token).get_json()["total"] == 1
    removed = api.post(f"{path}/remove", token=token, json={"password": PASSWORD})
    assert removed.status_code == 200
    assert api.get("/me/passkeys", token=token).get_json()["total"] == 0
    factors = api.get("/me/factors", token=token).get_json()
    assert factors["second_step"] is None and factors["recovery_codes_remaining"] == 0
    mail = service.mailbox.last("alice@example.com")
    assert "Work laptop" in text_of(mail)
    assert events(service.app, "factor.removed")[-1]["kind"] == "passkey"
    # the removed passkey signs in no more; the password alone does again
    assert passkey_sign_in(api, device).status_code == 401
    assert api.post("/sessions", json={"login": "alice", "password": PASSWORD}).status_code == 200


def test_with_an_app_too_the_passkey_step_takes_the_apps_code(alice):
    import pyotp

    service, token = alice
    api, device = service.api, SoftAuthenticator()
    enrol(api, token, device)
    secret = api.post("/me/factors/totp", token=token).get_json()["secret"]
    confirmed = api.post("/me/factors/totp/confirm", token=token, json={"code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200 and "recovery_codes" not in confirmed.get_json()  # kept the first set
    body = api.post("/sessions", json={"login": "alice", "password": PASSWORD}).get_json()
    assert body["second_step"] == "passkey" and body["alternatives"] == ["totp", "recovery_code"]
    later = pyotp.TOTP(secret).at(time.time() + 30)  # the enrolment's step is spent
    done = api.post("/sessions/second-factor", json={"challenge": body["challenge"], "totp": later})
    assert done.status_code == 200, done.get_json()
    assert events(service.app, "login.success")[-1] == {"method": "password+totp"}
