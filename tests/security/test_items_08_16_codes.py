"""SECURITY.md items 8-16: emailed one-time codes."""

import random
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from authsvc.config import from_environment
from authsvc.services.codes import generate_code

from .helpers import (ADMIN_PASSWORD, NEW_PASSWORD, PASSWORD, Api_for, Browser_for, api_login, audit_events,
                      create_admin, csrf_of, decodings, force_codes, get_user, record_responses, signed_in, web_login)

# --- item 8 ---------------------------------------------------------------------------------
def test_item_08_codes_cover_the_whole_range_uniformly(app):
    with app.app_context():
        sample = [generate_code() for _ in range(200_000)]
    assert all(len(c) == 6 and c.isdigit() for c in sample)
    for position in range(6):
        counts = Counter(c[position] for c in sample)
        assert set(counts) == set("0123456789"), position
        assert all(19_000 < n < 21_000 for n in counts.values()), (position, counts)  # > 7 sigma
    values = [int(c) for c in sample]
    assert min(values) < 100 and max(values) > 999_899  # both ends of 000000-999999 occur
    assert 19_000 < sum(v < 100_000 for v in values) < 21_000  # leading zero: one in ten
    assert len(set(sample)) > 178_000  # ~181,000 expected for 200k draws from a million


def test_item_08_codes_do_not_come_from_the_seedable_random_module(app):
    state = random.getstate()
    try:
        with app.app_context():
            random.seed(1234)
            first = [generate_code() for _ in range(50)]
            random.seed(1234)
            second = [generate_code() for _ in range(50)]
    finally:
        random.setstate(state)
    assert first != second


def test_item_08_a_code_with_leading_zeros_travels_intact(api, mailbox, monkeypatch):
    force_codes(monkeypatch, 42)
    assert api.register().status_code == 202
    message = mailbox.last("alice@example.com")
    assert mailbox.code("alice@example.com") == "000042" and "000042" in message["Subject"]
    assert api.confirm_registration("alice@example.com", "42").status_code in (400, 422)
    assert api.confirm_registration("alice@example.com", "000042").status_code == 201


# --- item 9 ---------------------------------------------------------------------------------
def test_item_09_the_redis_ttl_is_each_purposes_code_ttl(make_service):
    ttls = {"register": 701, "login": 201, "reset": 1201, "change_email": 501, "second_factor": 101}
    service = make_service(CODE_TTL_REGISTER=701, CODE_TTL_LOGIN=201, CODE_TTL_RESET=1201,
                           CODE_TTL_CHANGE_EMAIL=501, CODE_TTL_SECOND_FACTOR=101, CAPTCHA_ENABLED=False,
                           LOGIN_SECOND_FACTOR="always", SEND_LIMIT_PER_EMAIL="50 per hour")
    _user, token = service.register_user()
    api = service.api
    answers = {
        "register": api.post("/registrations", json={"email": "bob@example.com", "username": "bobby",
                                                     "password": PASSWORD}),
        "login": api.post("/login-codes", json={"email": "alice@example.com"}),
        "reset": api.post("/password-resets", json={"email": "alice@example.com"}),
        "change_email": api.post("/me/email", json={"password": PASSWORD, "new_email": "new@example.com"},
                                 token=token),
        "second_factor": api_login(api),
    }
    redis = service.app.extensions["authsvc.redis"]
    for purpose, ttl in ttls.items():
        assert answers[purpose].status_code in (202,), (purpose, answers[purpose].get_json())
        if "expires_in" in answers[purpose].get_json():
            assert answers[purpose].get_json()["expires_in"] == ttl
        found = list(redis.scan_iter(f"authsvc:code:{purpose}:*"))
        assert len(found) == 1, purpose
        assert ttl - 3 <= redis.ttl(found[0]) <= ttl, (purpose, redis.ttl(found[0]))
    pending = list(redis.scan_iter("authsvc:reg:*"))
    assert pending and 698 <= redis.ttl(pending[0]) <= 701  # the pending registration lives as long


def test_item_09_codes_are_refused_once_their_ttl_has_passed(make_service, monkeypatch):
    import time

    service = make_service(CODE_TTL_LOGIN=1, CODE_TTL_RESET=1, CAPTCHA_ENABLED=False)
    service.register_user()
    force_codes(monkeypatch, 246810, 135791)
    api = service.api
    assert api.post("/login-codes", json={"email": "alice@example.com"}).status_code == 202
    assert api.post("/password-resets", json={"email": "alice@example.com"}).status_code == 202
    time.sleep(1.3)
    late_login = api.post("/sessions/code", json={"email": "alice@example.com", "code": "246810"})
    late_reset = api.post("/password-resets/confirm", json={"email": "alice@example.com", "code": "135791",
                                                            "new_password": NEW_PASSWORD})
    for response in (late_login, late_reset):
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "code_expired"
    assert api_login(api).status_code == 200  # the password did not change


# --- item 10 --------------------------------------------------------------------------------
def test_item_10_twenty_concurrent_resets_with_one_code_succeed_once(app, api, register_user, mailbox):
    register_user()
    mailbox.server.clear()
    api.post("/password-resets", json={"email": "alice@example.com", **api.captcha()})
    code = mailbox.code("alice@example.com")

    def confirm(i):
        return Api_for(app).post("/password-resets/confirm", json={
            "email": "alice@example.com", "code": code, "new_password": f"fresh passphrase number {i}"}).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(confirm, range(20)))
    assert statuses.count(200) == 1, statuses
    assert all(s == 400 for s in statuses if s != 200), statuses
    winner = statuses.index(200)
    loser = (winner + 1) % 20
    assert api_login(api, "alice", f"fresh passphrase number {winner}").status_code == 200
    assert api_login(api, "alice", f"fresh passphrase number {loser}").status_code == 401


def test_item_10_twenty_concurrent_email_change_confirmations_succeed_once(app, api, register_user, mailbox):
    _user, token = register_user()
    api.post("/me/email", json={"password": PASSWORD, "new_email": "new@example.com"}, token=token)
    code = mailbox.code("new@example.com")

    def confirm(_):
        return Api_for(app).post("/me/email/confirm", json={"code": code}, token=token).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(confirm, range(20)))
    assert statuses.count(200) == 1, statuses
    assert sum(e["event"] == "email.changed" for e in audit_events(app)) == 1


# --- item 11 --------------------------------------------------------------------------------
def test_item_11_a_code_is_bound_to_its_address(api, register_user, monkeypatch):
    register_user()
    register_user(email="bob@example.com", username="bobby")
    force_codes(monkeypatch, 314159)
    api.post("/password-resets", json={"email": "alice@example.com", **api.captcha()})
    for_bob = api.post("/password-resets/confirm", json={"email": "bob@example.com", "code": "314159",
                                                         "new_password": NEW_PASSWORD})
    assert for_bob.status_code == 400
    assert api_login(api, "bobby", NEW_PASSWORD, **api.captcha()).status_code == 401
    for_alice = api.post("/password-resets/confirm", json={"email": "alice@example.com", "code": "314159",
                                                           "new_password": NEW_PASSWORD})
    assert for_alice.status_code == 200


def test_item_11_a_new_code_voids_the_previous_one_in_every_flow(make_service, monkeypatch):
    service = make_service(RESEND_COOLDOWN=0, CAPTCHA_ENABLED=False, SEND_LIMIT_PER_EMAIL="50 per hour")
    _user, token = service.register_user()
    api = service.api
    force_codes(monkeypatch, 111111, 222222, 333333, 444444, 555555, 666666, 777777, 888888)
    # sign-in code
    api.post("/login-codes", json={"email": "alice@example.com"})
    api.post("/login-codes", json={"email": "alice@example.com"})
    assert api.post("/sessions/code", json={"email": "alice@example.com", "code": "111111"}).status_code == 400
    assert api.post("/sessions/code", json={"email": "alice@example.com", "code": "222222"}).status_code == 200
    # registration code
    api.post("/registrations", json={"email": "carol@example.com", "username": "carol", "password": PASSWORD})
    api.resend_registration("carol@example.com")
    assert api.confirm_registration("carol@example.com", "333333").status_code == 400
    assert api.confirm_registration("carol@example.com", "444444").status_code == 201
    # email change code
    api.post("/me/email", json={"password": PASSWORD, "new_email": "alice.two@example.com"}, token=token)
    api.post("/me/email", json={"password": PASSWORD, "new_email": "alice.two@example.com"}, token=token)
    assert api.post("/me/email/confirm", json={"code": "555555"}, token=token).status_code == 400
    assert api.post("/me/email/confirm", json={"code": "666666"}, token=token).status_code == 200
    # reset code
    api.post("/password-resets", json={"email": "alice.two@example.com"})
    api.post("/password-resets", json={"email": "alice.two@example.com"})
    old = api.post("/password-resets/confirm", json={"email": "alice.two@example.com", "code": "777777",
                                                     "new_password": NEW_PASSWORD})
    assert old.status_code == 400
    assert api_login(api, "alice", NEW_PASSWORD).status_code == 401
    assert api.post("/password-resets/confirm", json={"email": "alice.two@example.com", "code": "888888",
                                                      "new_password": NEW_PASSWORD}).status_code == 200


# --- item 12 --------------------------------------------------------------------------------
def test_item_12_code_max_attempts_voids_the_code(make_service, monkeypatch):
    service = make_service(CODE_MAX_ATTEMPTS=3, CAPTCHA_ENABLED=False)
    service.register_user()
    force_codes(monkeypatch, 123456)
    api = service.api
    api.post("/login-codes", json={"email": "alice@example.com"})
    tries = [api.post("/sessions/code", json={"email": "alice@example.com", "code": "654321"}).get_json()["error"]
             for _ in range(3)]
    assert [t.get("remaining_attempts") for t in tries[:2]] == [2, 1]
    assert tries[2]["code"] == "code_expired"
    late = api.post("/sessions/code", json={"email": "alice@example.com", "code": "123456"})
    assert late.status_code == 400 and late.get_json()["error"]["code"] == "code_expired"


def test_item_12_new_codes_do_not_reset_the_daily_budget_of_100_failures(make_service, monkeypatch):
    assert from_environment({})["CODE_DAILY_FAILURE_CAP"] == 100
    service = make_service(CAPTCHA_ENABLED=False, RESEND_COOLDOWN=0, SEND_LIMIT_PER_EMAIL="1000 per hour")
    service.register_user()
    service.register_user(email="bob@example.com", username="bobby")
    force_codes(monkeypatch, 123456)
    api = service.api
    failures = 0
    for round_ in range(20):  # an attacker rotating addresses, a fresh code every five tries
        ip = f"10.77.{round_}.1"
        assert api.post("/login-codes", json={"email": "alice@example.com"}, ip=ip).status_code == 202
        for attempt in range(5):
            response = api.post("/sessions/code", json={"email": "alice@example.com", "code": "654321"},
                                ip=f"10.78.{round_}.{attempt}")
            assert response.status_code == 400, (round_, attempt, response.get_json())
            failures += 1
    assert failures == 100
    api.post("/login-codes", json={"email": "alice@example.com"}, ip="10.79.0.1")
    right = api.post("/sessions/code", json={"email": "alice@example.com", "code": "123456"}, ip="10.79.0.2")
    assert right.status_code == 429 and right.get_json()["error"]["code"] == "rate_limited"
    assert int(right.headers["Retry-After"]) > 0
    # the budget is per account: bob is unaffected
    api.post("/login-codes", json={"email": "bob@example.com"}, ip="10.80.0.1")
    assert api.post("/sessions/code", json={"email": "bob@example.com", "code": "123456"},
                    ip="10.80.0.2").status_code == 200


# --- item 13 --------------------------------------------------------------------------------
FORCED = [271828, 314159, 161803, 141421, 173205, 223606, 244949, 264575, 282842, 316227, 331662,
          346410, 360555, 374165, 387298, 412310, 424264, 435889, 447213, 458257]


def _codes_seen_in(responses, codes):
    leaks = []
    for response in responses:
        places = {"body": response.get_data().decode("latin-1")}
        for name, value in response.headers.items():
            for i, form in enumerate(decodings(value)):
                places[f"header {name} ({i})"] = form
        for where, text in places.items():
            leaks += [(response.request.path, where, c) for c in codes
                      if re.search(rf"(?<!\d){c}(?!\d)", text)]
    return leaks


def test_item_13_no_code_in_any_response_of_every_html_flow(make_service, monkeypatch):
    service = make_service(RESEND_COOLDOWN=0, LOGIN_SECOND_FACTOR="always", LOGIN_CAPTCHA="never",
                           SEND_LIMIT_PER_EMAIL="50 per hour")
    force_codes(monkeypatch, *FORCED)
    codes = [f"{c:06d}" for c in FORCED]
    browser, mailbox = service.browser, service.mailbox
    seen = record_responses(browser.client)
    browser.submit("/register", {"email": "alice@example.com", "username": "alice", "password": PASSWORD,
                                 "confirm": PASSWORD}, captcha=True)
    browser.get("/register/verify")
    browser.submit("/register/resend", {}, page="/register/verify")
    browser.submit("/register/verify", {"code": "000001"})  # wrong
    browser.submit("/register/verify", {"code": mailbox.code("alice@example.com")})
    browser.submit("/logout", {}, page="/account")
    browser.submit("/login/code", {"email": "alice@example.com"}, captcha=True)
    browser.submit("/login/code/verify", {"code": "000001"})
    browser.submit("/login/code/verify", {"code": mailbox.code("alice@example.com")})
    browser.submit("/login/verify", {"password": PASSWORD})  # the second step after a code
    browser.submit("/logout", {}, page="/account")
    browser.submit("/reset", {"email": "alice@example.com"}, captcha=True)
    browser.submit("/reset/verify", {"code": mailbox.code("alice@example.com"), "new_password": NEW_PASSWORD,
                                     "confirm": NEW_PASSWORD})
    web_login(browser, "alice", NEW_PASSWORD)
    browser.submit("/login/verify/resend", {}, page="/login/verify")
    browser.submit("/login/verify", {"code": mailbox.code("alice@example.com")})
    browser.submit("/account/email", {"new_email": "new@example.com", "password": NEW_PASSWORD})
    browser.get("/account/email/verify")
    browser.submit("/account/email/verify", {"code": mailbox.code("new@example.com")})
    assert "new@example.com" in browser.get("/account").get_data(as_text=True)  # every flow went through
    sent = {c for c in codes if any(c in m["message"]["Subject"] for m in mailbox.messages())}
    assert len(sent) >= 7, sent
    assert not _codes_seen_in(seen, codes)


def test_item_13_no_code_in_any_response_of_every_api_flow(make_service, monkeypatch):
    service = make_service(RESEND_COOLDOWN=0, LOGIN_SECOND_FACTOR="always", CAPTCHA_ENABLED=False,
                           SEND_LIMIT_PER_EMAIL="50 per hour")
    force_codes(monkeypatch, *FORCED)
    codes = [f"{c:06d}" for c in FORCED]
    api, mailbox = service.api, service.mailbox
    seen = record_responses(api.client)
    api.post("/registrations", json={"email": "alice@example.com", "username": "alice", "password": PASSWORD})
    api.resend_registration("alice@example.com")
    api.confirm_registration("alice@example.com", "000001")
    token = api.confirm_registration("alice@example.com", mailbox.code("alice@example.com")).get_json()["token"]
    api.post("/login-codes", json={"email": "alice@example.com"})
    api.post("/login-codes", json={"email": "nobody@example.com"})
    api.post("/sessions/code", json={"email": "alice@example.com", "code": mailbox.code("alice@example.com")})
    challenge = api_login(api).get_json()["challenge"]
    api.post("/sessions/second-factor/resend", json={"challenge": challenge})
    api.post("/sessions/second-factor", json={"challenge": challenge, "code": mailbox.code("alice@example.com")})
    api.post("/password-resets", json={"email": "alice@example.com"})
    api.post("/password-resets", json={"email": "nobody@example.com"})
    api.post("/password-resets/confirm", json={"email": "alice@example.com", "code": mailbox.code("alice@example.com"),
                                               "new_password": NEW_PASSWORD})
    api.post("/sessions/code", json={"email": "alice@example.com", "code": "000001"})
    challenge = api_login(api, "alice", NEW_PASSWORD).get_json()["challenge"]
    done = api.post("/sessions/second-factor", json={"challenge": challenge,
                                                     "code": mailbox.code("alice@example.com")})
    token = done.get_json()["token"]
    api.post("/me/email", json={"password": NEW_PASSWORD, "new_email": "new@example.com"}, token=token)
    changed = api.post("/me/email/confirm", json={"code": mailbox.code("new@example.com")}, token=token)
    assert changed.status_code == 200  # every flow went through
    sent = {c for c in codes if any(c in m["message"]["Subject"] for m in mailbox.messages())}
    assert len(sent) >= 8, sent
    assert not _codes_seen_in(seen, codes)


# --- item 14 --------------------------------------------------------------------------------
def test_item_14_nfkc_case_and_space_variants_share_one_send_bucket(make_service):
    service = make_service(RESEND_COOLDOWN=0)
    api = service.api
    assert api.register(email="alice@example.com").status_code == 202
    for variant in ("ＡＬＩＣＥ＠ＥＸＡＭＰＬＥ．ＣＯＭ", " Alice@Example.Com "):
        assert api.resend_registration(variant).status_code == 202, variant
    blocked = api.resend_registration("ａｌｉｃｅ@example.com")
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == str(blocked.get_json()["error"]["retry_after"])
    delivered = service.mailbox.messages()
    assert len(delivered) == 3 and all(m["to"] == ["alice@example.com"] for m in delivered)


def test_item_14_address_variants_reach_one_account(make_service):
    service = make_service(RESEND_COOLDOWN=0)
    api, mailbox, app = service.api, service.mailbox, service.app
    assert api.register(email="ＡＬＩＣＥ@ｅｘａｍｐｌｅ.com ").status_code == 202
    code = mailbox.code("alice@example.com")
    assert api.confirm_registration(" Alice@EXAMPLE.com", code).status_code == 201
    for variant in (" ALICE@EXAMPLE.COM ", "ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ"):
        assert api_login(api, variant).status_code == 200, variant
    mailbox.server.clear()
    again = api.register(email="Ａlice@Example.com", username="alice2")
    assert again.status_code == 202
    notice = mailbox.last("alice@example.com")
    assert not re.search(r"\b\d{6}\b", notice["Subject"])  # the owner's notice, not a code
    assert get_user(app, username="alice2") is None
    assert [u.email for u in [get_user(app, username="alice")]] == ["alice@example.com"]


def test_item_14_per_ip_limit_is_a_429_with_retry_after_on_api_and_pages(make_service):
    service = make_service(SEND_LIMIT_PER_IP="2 per hour", CAPTCHA_ENABLED=False)
    api = service.api
    for i in range(2):
        assert api.post("/login-codes", json={"email": f"u{i}@example.com"}).status_code == 202
    refused = api.post("/login-codes", json={"email": "u9@example.com"})
    assert refused.status_code == 429
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    assert refused.headers["Retry-After"] == str(refused.get_json()["error"]["retry_after"])


def test_item_14_html_pages_send_retry_after_with_their_429(make_service):
    service = make_service(SEND_LIMIT_PER_IP="1 per hour")
    browser = service.browser
    assert browser.submit("/reset", {"email": "u1@example.com"}, captcha=True).status_code == 302
    for path, data in (("/reset", {"email": "u2@example.com"}), ("/login/code", {"email": "u3@example.com"}),
                       ("/register", {"email": "u4@example.com", "username": "user4", "password": PASSWORD,
                                      "confirm": PASSWORD})):
        page = browser.submit(path, data, captcha=True)
        assert page.status_code == 429, path
        assert 3500 <= int(page.headers.get("Retry-After", 0)) <= 3600, path


# --- item 15 --------------------------------------------------------------------------------
SPOOF_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded", "True-Client-IP", "CF-Connecting-IP")


def _spoofed(i):
    return {name: (f"for=198.51.100.{i}" if name == "Forwarded" else f"198.51.100.{i}") for name in SPOOF_HEADERS}


def test_item_15_spoofed_forwarding_headers_do_not_dodge_sign_in_limits(make_service):
    service = make_service(LOGIN_LIMIT_PER_IP="5 per minute", LOGIN_CAPTCHA="never")
    api = service.api
    statuses = [api_login(api, f"x{i}@example.com", "whatever123", headers=_spoofed(i)).status_code
                for i in range(6)]
    assert statuses == [401] * 5 + [429]
    ips = {e["ip"] for e in audit_events(service.app)}
    assert ips == {"127.0.0.1"}  # the socket address, never a claimed one


def test_item_15_spoofed_forwarding_headers_do_not_dodge_the_captcha(api, register_user):
    register_user()
    for i in range(3):
        assert api_login(api, f"ghost{i}@example.com", "whatever123", headers=_spoofed(i)).status_code == 401
    response = api_login(api, "alice", headers=_spoofed(99))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "captcha_required"


def test_item_15_with_one_trusted_proxy_only_the_hop_it_appended_counts(make_service):
    service = make_service(PROXY_FIX_X_FOR=1, LOGIN_LIMIT_PER_IP="2 per minute", LOGIN_CAPTCHA="never")
    api = service.api

    def attempt(chain):
        return api_login(api, "ghost@example.com", "whatever123", headers={"X-Forwarded-For": chain}).status_code

    # the client prepends made-up addresses; the proxy appends the real one (203.0.113.9)
    assert [attempt(f"6.6.6.{i}, 203.0.113.9") for i in range(3)] == [401, 401, 429]
    assert attempt("6.6.6.6, 203.0.113.10") == 401  # a different real client is not affected
    ips = {e["ip"] for e in audit_events(service.app)}
    assert ips == {"203.0.113.9", "203.0.113.10"}


# --- item 16 --------------------------------------------------------------------------------
def _code_only_token(api, mailbox, email="alice@example.com"):
    mailbox.server.clear()
    api.post("/login-codes", json={"email": email, **api.captcha()})
    return api.post("/sessions/code", json={"email": email, "code": mailbox.code(email)}).get_json()["token"]


def test_item_16_code_only_token_must_reenter_the_password_to_change_email(api, register_user, mailbox):
    register_user()
    token = _code_only_token(api, mailbox)
    for path, body in (("/me/email", {"password": PASSWORD, "new_email": "new@example.com"}),
                       ("/me/email/confirm", {"code": "123456"}),
                       ("/me/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})):
        response = api.post(path, json=body, token=token)
        assert response.status_code == 401, path
        assert response.get_json()["error"]["code"] == "reauthentication_required", path
    assert mailbox.messages("new@example.com") == []
    assert api.post("/sessions/reauthenticate", json={"password": PASSWORD}, token=token).status_code == 200
    assert api.post("/me/email", json={"password": PASSWORD, "new_email": "new@example.com"},
                    token=token).status_code == 202


def test_item_16_code_only_browser_session_cannot_change_password_email_or_use_admin(app, api, register_user, mailbox):
    create_admin(app)
    user, _token = register_user()
    browser = Browser_for(app)
    browser.submit("/login/code", {"email": "root@example.com"}, captcha=True)
    done = browser.submit("/login/code/verify", {"code": mailbox.code("root@example.com")})
    assert done.headers["Location"].endswith("/account") and signed_in(browser)
    mailbox.server.clear()
    csrf = csrf_of(browser, "/account")
    attempts = [
        browser.client.post("/account/password", data={"csrf_token": csrf, "current_password": ADMIN_PASSWORD,
                                                        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        browser.client.post("/account/email", data={"csrf_token": csrf, "password": ADMIN_PASSWORD,
                                                     "new_email": "new@example.com"}),
        browser.client.post(f"/admin/users/{user['id']}/deactivate", data={"csrf_token": csrf}),
        browser.client.get("/admin"),
        browser.client.get("/account/email"),
    ]
    for response in attempts:
        assert response.status_code == 302, response.request.path
        assert "/account/confirm-password" in response.headers["Location"], response.request.path
    assert mailbox.messages("new@example.com") == []
    assert get_user(app, username="alice").active
    assert api_login(api, "boss", ADMIN_PASSWORD).status_code == 200  # the password is unchanged
    confirm = browser.submit("/account/confirm-password", {"password": ADMIN_PASSWORD, "next": "/admin"})
    assert confirm.headers["Location"].endswith("/admin")
    assert browser.get("/admin").status_code == 200
