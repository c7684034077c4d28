"""Sign-in through the JSON API: password, lockout, captcha, code login, second step, tokens."""

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from authsvc.extensions import db
from authsvc.models import User

from .support import Api, text_of

PASSWORD = "correct horse battery"


def login(api, name="alice", password=PASSWORD, ip=None, **extra):
    return api.post("/sessions", json={"login": name, "password": password, **extra}, ip=ip)


def test_login_by_email_or_username_case_insensitive(api, register_user):
    register_user()
    for name in ("alice", "ALICE", "alice@example.com", " Alice@Example.COM "):
        response = login(api, name)
        assert response.status_code == 200, name
        body = response.get_json()
        assert body["user"]["username"] == "alice" and body["expires_in"] == 86400
        assert api.get("/me", token=body["token"]).status_code == 200


def test_unknown_wrong_and_inactive_get_one_answer(app, api, register_user):
    register_user()
    register_user(email="bob@example.com", username="bob")
    with app.app_context():
        db.session.execute(db.update(User).where(User.username == "bob").values(active=False))
        db.session.commit()
    answers = [login(api, "nobody@example.com"), login(api, "alice", "wrong password!"),
               login(api, "bob", PASSWORD)]
    assert {r.status_code for r in answers} == {401}
    assert len({r.get_data() for r in answers}) == 1
    assert answers[0].get_json()["error"]["code"] == "invalid_credentials"


def test_unknown_and_wrong_password_take_the_same_time(make_service, register_user):
    service = make_service(BCRYPT_ROUNDS=9, LOGIN_CAPTCHA="never", LOGIN_LOCKOUT_THRESHOLD=1000,
                           LOGIN_LIMIT_PER_IP="1000 per minute")
    service.register_user()  # hashed at the same cost as the dummy hash
    samples = {"unknown": [], "wrong": []}
    for i in range(20):
        for kind, name in (("unknown", f"ghost{i}@example.com"), ("wrong", "alice")):
            started = time.perf_counter()
            response = login(service.api, name, "not the password")
            samples[kind].append(time.perf_counter() - started)
            assert response.status_code == 401
    unknown, wrong = statistics.median(samples["unknown"]), statistics.median(samples["wrong"])
    print(f"median unknown {unknown * 1000:.1f} ms, wrong password {wrong * 1000:.1f} ms")
    assert abs(unknown - wrong) / max(unknown, wrong) < 0.10


def test_lockout_after_five_failures(api, register_user, mailbox):
    register_user()
    mailbox.server.clear()
    statuses = []
    for _ in range(5):
        response = login(api, "alice", "wrong password!", **api.captcha())
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 401, 423]
    error = response.get_json()["error"]
    assert error["code"] == "account_locked" and 590 <= error["retry_after"] <= 600
    right = login(api, "alice", PASSWORD, **api.captcha())
    assert right.status_code == 423  # locked even with the right password
    alert = mailbox.last("alice@example.com")
    assert "锁定" in alert["Subject"]
    assert "10" in text_of(alert)


def test_unknown_login_locks_the_same_way(api):
    responses = [login(api, "ghost@example.com", "whatever123", **api.captcha()) for _ in range(6)]
    assert [r.status_code for r in responses] == [401, 401, 401, 401, 423, 423]
    assert responses[-1].get_json()["error"]["code"] == "account_locked"


def test_success_resets_the_failure_count(make_service, register_user):
    api = make_service(LOGIN_CAPTCHA="never").api
    register_user()
    for _ in range(4):
        assert login(api, "alice", "wrong password!").status_code == 401
    assert login(api, "alice").status_code == 200
    for _ in range(4):
        assert login(api, "alice", "wrong password!").status_code == 401
    assert login(api, "alice").status_code == 200


def test_captcha_after_three_failures(api, register_user):
    register_user()
    for _ in range(3):
        assert login(api, "alice", "wrong password!").status_code == 401
    needs = login(api, "alice")
    assert needs.status_code == 400 and needs.get_json()["error"]["code"] == "captcha_required"
    assert login(api, "alice", **api.captcha()).status_code == 200


def test_one_ip_walking_many_accounts_meets_a_captcha(api, register_user):
    register_user()
    for i in range(3):
        assert login(api, f"user{i}@example.com", "whatever123", ip="198.51.100.5").status_code == 401
    response = login(api, "alice", ip="198.51.100.5")
    assert response.get_json()["error"]["code"] == "captcha_required"
    assert login(api, "alice", ip="198.51.100.6").status_code == 200  # another IP is unaffected


def test_login_attempts_per_ip_are_rate_limited(make_service):
    api = make_service(LOGIN_LIMIT_PER_IP="5 per minute", LOGIN_CAPTCHA="never").api
    statuses = [login(api, f"x{i}@example.com", "whatever123").status_code for i in range(6)]
    assert statuses == [401] * 5 + [429]


def test_code_login(api, register_user, mailbox):
    register_user()
    mailbox.server.clear()
    sent = api.post("/login-codes", json={"email": "alice@example.com", **api.captcha()})
    assert sent.status_code == 202
    assert sent.get_json() == {"status": "code_sent", "email": "a***@example.com", "expires_in": 300,
                               "resend_after": 60}
    code = mailbox.code("alice@example.com")
    assert "5 分钟内有效" in text_of(mailbox.last("alice@example.com"))
    response = api.post("/sessions/code", json={"email": "alice@example.com", "code": code})
    assert response.status_code == 200
    assert api.get("/me", token=response.get_json()["token"]).status_code == 200


def test_code_login_for_unknown_address_looks_the_same(api, register_user, mailbox):
    register_user()
    mailbox.server.clear()
    known = api.post("/login-codes", json={"email": "alice@example.com", **api.captcha()})
    unknown = api.post("/login-codes", json={"email": "ghost@example.com", **api.captcha()})
    assert known.status_code == unknown.status_code == 202
    assert known.get_json().keys() == unknown.get_json().keys()
    assert mailbox.messages("ghost@example.com") == []
    right = mailbox.code("alice@example.com")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    on_known = api.post("/sessions/code", json={"email": "alice@example.com", "code": wrong})
    on_unknown = api.post("/sessions/code", json={"email": "ghost@example.com", "code": wrong})
    assert on_known.get_json() == on_unknown.get_json()  # same remaining-attempts answer


@pytest.mark.parametrize("purpose_path", ["/registrations/resend", "/password-resets"])
def test_codes_of_other_purposes_do_not_sign_in(make_service, register_user, purpose_path):
    service = make_service(RESEND_COOLDOWN=0)
    api, mailbox = service.api, service.mailbox
    if purpose_path == "/password-resets":
        register_user()
        api.post(purpose_path, json={"email": "alice@example.com", **api.captcha()})
    else:
        api.register(email="alice@example.com")
    code = mailbox.code("alice@example.com")
    response = api.post("/sessions/code", json={"email": "alice@example.com", "code": code})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] in ("code_expired", "invalid_code")


def test_twenty_concurrent_code_logins_yield_one_token(app, api, register_user, mailbox):
    register_user()
    mailbox.server.clear()
    api.post("/login-codes", json={"email": "alice@example.com", **api.captcha()})
    code = mailbox.code("alice@example.com")

    def submit(_):
        return Api(app.test_client()).post("/sessions/code", json={"email": "alice@example.com",
                                                                   "code": code}, ip="10.1.1.1").status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(submit, range(20)))
    assert statuses.count(200) == 1, statuses


def test_code_only_token_must_confirm_the_password(api, register_user, mailbox):
    register_user()
    mailbox.server.clear()
    api.post("/login-codes", json={"email": "alice@example.com", **api.captcha()})
    token = api.post("/sessions/code", json={"email": "alice@example.com",
                                             "code": mailbox.code("alice@example.com")}).get_json()["token"]
    change = {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    blocked = api.post("/me/password", json=change, token=token)
    assert blocked.status_code == 401
    assert blocked.get_json()["error"]["code"] == "reauthentication_required"
    wrong = api.post("/sessions/reauthenticate", json={"password": "not it at all"}, token=token)
    assert wrong.status_code == 401
    assert api.post("/sessions/reauthenticate", json={"password": PASSWORD}, token=token).status_code == 200
    assert api.post("/me/password", json=change, token=token).status_code == 200


def test_second_factor_always(make_service, register_user):
    service = make_service(LOGIN_SECOND_FACTOR="always")
    api, mailbox = service.api, service.mailbox
    register_user()
    mailbox.server.clear()
    first = login(api)
    assert first.status_code == 202
    body = first.get_json()
    assert body["status"] == "second_factor_required" and body["email"] == "a***@example.com"
    code = mailbox.code("alice@example.com")
    wrong = api.post("/sessions/second-factor", json={"challenge": body["challenge"], "code": "000000"
                                                      if code != "000000" else "111111"})
    assert wrong.get_json()["error"]["code"] == "invalid_code"
    done = api.post("/sessions/second-factor", json={"challenge": body["challenge"], "code": code})
    assert done.status_code == 200 and done.get_json()["token"]
    again = api.post("/sessions/second-factor", json={"challenge": body["challenge"], "code": code})
    assert again.status_code == 400  # the challenge is spent


def test_second_factor_only_for_new_devices(make_service, register_user):
    service = make_service(LOGIN_SECOND_FACTOR="new_device", RESEND_COOLDOWN=0,
                           SEND_LIMIT_PER_EMAIL="10 per 5 minutes")
    api, mailbox = service.api, service.mailbox
    register_user()
    first = login(api)
    assert first.status_code == 202
    done = api.post("/sessions/second-factor", json={"challenge": first.get_json()["challenge"],
                                                     "code": mailbox.code("alice@example.com")})
    device = done.get_json()["device_token"]
    assert login(api, device_token=device).status_code == 200  # a known device
    assert login(api).status_code == 202  # no device token: a new device
    forged = device.split(".")[0] + ".0123456789abcdef0123456789abcdef"
    assert login(api, device_token=forged).status_code == 202


def test_logout_revokes_the_token(api, register_user):
    _user, token = register_user()
    assert api.delete("/sessions/current", token=token).status_code == 204
    assert api.get("/me", token=token).status_code == 401


def test_tokens_are_listed_and_can_be_ended(api, register_user):
    _user, first = register_user()
    second = login(api).get_json()["token"]
    listed = api.get("/me/sessions", token=second).get_json()
    assert listed["total"] == 2
    other = next(s for s in listed["items"] if not s["current"])
    assert api.delete(f"/me/sessions/{other['id']}", token=second).status_code == 204
    assert api.get("/me", token=first).status_code == 401
    assert api.get("/me", token=second).status_code == 200


def test_tokens_are_stored_hashed_with_their_ttl(app, register_user):
    _user, token = register_user()
    redis = app.extensions["authsvc.redis"]
    keys = [k.decode() for k in redis.scan_iter("authsvc:tok:*")]
    assert keys and all(token not in k for k in keys)
    assert all(86000 < redis.ttl(k) <= 86400 for k in keys)


def test_code_sign_in_can_be_switched_off(make_service):
    service = make_service(LOGIN_BY_CODE=False)
    refused = service.api.post("/login-codes", json={"email": "alice@example.com", **service.api.captcha()})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert service.api.post("/sessions/code", json={"email": "a@example.com", "code": "123456"}).status_code == 403
    assert service.browser.get("/login/code").status_code == 404
    assert "/login/code" not in service.browser.get("/login").get_data(as_text=True)
