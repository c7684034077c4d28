"""Registration through the JSON API, against real Redis, SMTP and database."""

from concurrent.futures import ThreadPoolExecutor

from authsvc.extensions import db
from authsvc.models import User

from .support import Api, text_of


def test_register_confirm_and_me(api, mailbox):
    response = api.register(email="alice@example.com", username="alice")
    assert response.status_code == 202
    body = response.get_json()
    assert len(body.pop("registration_id")) >= 22
    assert body == {"status": "verification_sent", "email": "a***@example.com",
                    "expires_in": 900, "resend_after": 60}
    code = mailbox.code("alice@example.com")
    confirmed = api.confirm_registration("alice@example.com", code)
    assert confirmed.status_code == 201
    body = confirmed.get_json()
    assert body["user"]["username"] == "alice" and body["expires_in"] == 86400
    assert len(body["token"]) >= 43  # 256 bits, url-safe base64
    me = api.get("/me", token=body["token"])
    assert me.status_code == 200
    assert me.get_json()["email"] == "alice@example.com"
    assert me.get_json()["email_verified_at"] is not None


def test_me_without_or_with_bad_token_is_401(api):
    assert api.get("/me").status_code == 401
    response = api.get("/me", token="not-a-token")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_code_is_single_use(api, mailbox):
    api.register()
    code = mailbox.code("alice@example.com")
    assert api.confirm_registration("alice@example.com", code).status_code == 201
    again = api.confirm_registration("alice@example.com", code)
    assert again.status_code == 400
    assert again.get_json()["error"]["code"] == "code_expired"


def test_wrong_codes_count_down_then_void_the_code(api, mailbox):
    api.register()
    right = mailbox.code("alice@example.com")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    remaining = []
    for _ in range(4):
        response = api.confirm_registration("alice@example.com", wrong)
        assert response.status_code == 400
        error = response.get_json()["error"]
        assert error["code"] == "invalid_code"
        remaining.append(error["remaining_attempts"])
    assert remaining == [4, 3, 2, 1]
    fifth = api.confirm_registration("alice@example.com", wrong)
    assert fifth.get_json()["error"]["code"] == "code_expired"
    # the right code no longer works either: the code is void
    late = api.confirm_registration("alice@example.com", right)
    assert late.get_json()["error"]["code"] == "code_expired"


def test_resend_voids_the_previous_code(make_service):
    service = make_service(RESEND_COOLDOWN=0)
    api, box = service.api, service.mailbox
    api.register()
    first = box.code("alice@example.com")
    resent = api.resend_registration("alice@example.com")
    assert resent.status_code == 202
    second = box.code("alice@example.com")
    assert len(box.messages("alice@example.com")) == 2
    old = api.confirm_registration("alice@example.com", first)
    if first != second:
        assert old.status_code == 400
    ok = api.confirm_registration("alice@example.com", second)
    assert ok.status_code == 201


def test_resend_of_an_unknown_registration_says_so_and_sends_nothing(api, mailbox):
    # the id is the starter's secret, so saying it is unknown reveals nothing about addresses
    response = api.resend_registration("nobody@example.com")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "code_expired"
    assert mailbox.messages("nobody@example.com") == []


def test_twenty_concurrent_confirmations_create_one_account(app, api, mailbox):
    api.register()
    code = mailbox.code("alice@example.com")

    def confirm(_):
        client = app.test_client()
        return Api(client).confirm_registration("alice@example.com", code).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(confirm, range(20)))
    assert statuses.count(201) == 1, statuses
    assert all(s == 400 for s in statuses if s != 201)
    with app.app_context():
        assert db.session.query(User).count() == 1


def test_existing_email_is_not_revealed(make_service, register_user):
    service = make_service(RESEND_COOLDOWN=0)
    api, mailbox = service.api, service.mailbox
    register_user(email="alice@example.com", username="alice")
    mailbox.server.clear()
    again = api.register(email="alice@example.com", username="alice2")
    fresh = api.register(email="bob@example.com", username="bob")
    assert again.status_code == fresh.status_code == 202
    assert again.get_json().keys() == fresh.get_json().keys()
    assert again.get_json()["status"] == "verification_sent"
    notice = mailbox.last("alice@example.com")
    body = text_of(notice)
    assert "alice" in body  # names the existing account
    assert not any(ch.isdigit() for ch in notice["Subject"])  # no code anywhere
    import re
    assert not re.search(r"\b\d{6}\b", body)


def test_username_rules(api):
    for bad in ("ab", "Has Space", "x" * 33, "名字abc", "admin"):
        response = api.register(username=bad)
        assert response.status_code == 422, bad
        assert "username" in response.get_json()["error"]["fields"], bad
    upper = api.register(username="CarolC", email="carol@example.com")
    assert upper.status_code == 202  # stored lowercase


def test_taken_username_is_a_field_conflict(api, register_user):
    register_user(email="alice@example.com", username="alice")
    response = api.register(email="other@example.com", username="alice")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "conflict" and "username" in error["fields"]


def test_password_rules(api):
    cases = {
        "short12": "at least 8",
        "password123": "too common",
        "alice-secret-pass": "username",
        "x" * 129: "at most 128",
    }
    for password, _reason in cases.items():
        response = api.register(password=password, username="alice", email="alice@example.com")
        assert response.status_code == 422, password
        assert response.get_json()["error"]["fields"]["password"], password
    passphrase = "correct horse battery staple " * 2 + "ok"
    assert len(passphrase) >= 60
    assert api.register(password=passphrase, username="dave", email="dave@example.com").status_code == 202


def test_all_field_errors_are_reported_together(api):
    response = api.post("/registrations", json={"email": "nope", "username": "x", "password": "1"})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"email", "username", "password"}


def test_email_is_normalised(api, mailbox):
    response = api.register(email="  Alice@EXAMPLE.com ", username="alice")
    assert response.status_code == 202
    code = mailbox.code("alice@example.com")
    confirmed = api.confirm_registration("ALICE@example.COM", code)
    assert confirmed.get_json()["user"]["email"] == "alice@example.com"


def test_fullwidth_address_is_the_same_account(api, mailbox):
    # NFKC folds full-width letters: ａｌｉｃｅ@example.com is alice@example.com
    assert api.register(email="ａｌｉｃｅ@example.com", username="alice").status_code == 202
    assert mailbox.messages("alice@example.com")


def test_header_injection_in_email_is_refused(api, mailbox):
    response = api.register(email="alice@example.com\r\nBcc: victim@example.com")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_input"
    assert mailbox.messages() == []


def test_closed_registration(make_service):
    response = make_service(REGISTRATION_MODE="closed").api.post("/registrations", json={
        "email": "a@example.com", "username": "alice", "password": "correct horse battery"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
