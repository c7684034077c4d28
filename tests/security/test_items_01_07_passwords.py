"""SECURITY.md items 1-7: passwords and their storage."""

import json
import random
import re
from html.parser import HTMLParser

import pytest

from authsvc.config import from_environment
from authsvc.services.validation import common_passwords

from .helpers import (Browser_for, NEW_PASSWORD, PASSWORD, PRODUCTION, api_login, audit_events, get_user,
                      redis_values, signed_in, web_login)

EN = {"Accept-Language": "en"}
PASSPHRASE_64 = "correct horse battery staple, purple monkey dishwasher, go team!"
assert len(PASSPHRASE_64) == 64


def _register(api, password, email="alice@example.com", username="alice", headers=None):
    """A registration attempt without a captcha: policy errors come before the captcha check."""
    return api.post("/registrations", json={"email": email, "username": username, "password": password},
                    headers=headers)


def _password_errors(response):
    assert response.status_code == 422, (response.status_code, response.get_data(as_text=True)[:300])
    return response.get_json()["error"]["fields"]["password"]


# --- item 1 ---------------------------------------------------------------------------------
def test_item_01_minimum_length_and_no_composition_rules(make_service):
    service = make_service(CAPTCHA_ENABLED=False, SEND_LIMIT_PER_IP="100 per hour")
    api = service.api
    assert "at least 8" in _password_errors(_register(api, "zqkvtmw", headers=EN))[0]
    # no composition rules: lowercase only, digits only, one repeated word all pass at 8+
    for i, password in enumerate(("zqkvtmwp", "58203971", "blue blue blue")):
        response = _register(api, password, email=f"u{i}@example.com", username=f"user{i}")
        assert response.status_code == 202, (password, response.get_json())
    # and the minimum is PASSWORD_MIN_LENGTH
    stricter = make_service(CAPTCHA_ENABLED=False, PASSWORD_MIN_LENGTH=15).api
    assert "at least 15" in _password_errors(_register(stricter, "zqkvtmwpzqkvtm", headers=EN))[0]
    assert _register(stricter, "zqkvtmwpzqkvtmw").status_code == 202


def test_item_01_64_character_passphrase_over_the_api(api, mailbox):
    assert api.register(password=PASSPHRASE_64).status_code == 202
    confirmed = api.confirm_registration("alice@example.com", mailbox.code("alice@example.com"))
    assert confirmed.status_code == 201
    assert api_login(api, "alice", PASSPHRASE_64).status_code == 200
    assert api_login(api, "alice", PASSPHRASE_64[:-1]).status_code == 401


def test_item_01_64_character_passphrase_through_the_html_form(browser, mailbox):
    page = browser.submit("/register", {"email": "alice@example.com", "username": "alice",
                                        "password": PASSPHRASE_64, "confirm": PASSPHRASE_64}, captcha=True)
    assert page.status_code == 302 and page.headers["Location"].endswith("/register/verify")
    done = browser.submit("/register/verify", {"code": mailbox.code("alice@example.com")})
    assert done.headers["Location"].endswith("/account")
    browser.submit("/logout", {}, page="/account")
    assert not signed_in(browser)
    assert web_login(browser, "alice", PASSPHRASE_64).headers["Location"].endswith("/account")


@pytest.mark.parametrize("password", ["x" * 129, "密" * 129, "🔑" * 129, "é" * 129],
                         ids=["ascii", "cjk", "emoji", "latin1"])
def test_item_01_more_than_128_code_points_is_a_4xx(api, password):
    assert "128" in _password_errors(_register(api, password, headers=EN))[0]


def test_item_01_128_code_points_of_four_byte_characters_are_accepted(api):
    # 128 code points, 512 UTF-8 bytes: the limit counts characters, not bytes
    assert api.register(password="🔑" * 127 + "x").status_code == 202


def test_item_01_huge_passwords_never_cause_a_500(api, register_user, browser, client):
    _user, token = register_user()
    for size in (129, 5000, 70_000):
        password = "y" * size
        answers = [
            _register(api, password),
            api.post("/sessions", json={"login": "alice", "password": password}),
            api.post("/password-resets/confirm", json={"email": "alice@example.com", "code": "123456",
                                                       "new_password": password}),
            api.post("/me/password", json={"current_password": PASSWORD, "new_password": password}, token=token),
        ]
        for response in answers:
            assert 400 <= response.status_code < 500, (size, response.request.path, response.status_code)
            assert response.is_json and response.get_json()["error"]["code"]
    # the HTML forms: a 4xx page, never a 500
    for size in (129, 20_000, 70_000):
        password = "y" * size
        for path, data in (("/register", {"email": "bob@example.com", "username": "bobby",
                                          "password": password, "confirm": password}),
                           ("/login", {"login": "alice", "password": password})):
            client.delete_cookie("authsvc_session")
            response = browser.submit(path, data, captcha=path == "/register")
            assert 400 <= response.status_code < 500, (size, path, response.status_code)
    assert api_login(api, **api.captcha()).status_code == 200  # nothing was changed along the way


# --- item 2 ---------------------------------------------------------------------------------
def test_item_02_blocklist_holds_the_top_10000_and_refuses_them_with_the_reason(api):
    shipped = common_passwords()
    assert len(shipped) >= 10_000
    usable_length = [p for p in shipped if 8 <= len(p) <= 128]
    sample = sorted(usable_length)[:5] + random.Random(7).sample(sorted(usable_length), 25)
    sample += ["password", "12345678", "iloveyou", "woaini1314", "qwertyuiop", "1qaz2wsx", "88888888"]
    for password in sample + ["PassWord1", "QWERTYUIOP"]:  # case does not help
        reasons = _password_errors(_register(api, password, headers=EN))
        assert any("common" in r for r in reasons), (password, reasons)


def test_item_02_username_and_email_name_in_the_password_are_refused(api, browser):
    by_name = _register(api, "Carol-is-great-2024", email="x@example.com", username="carol", headers=EN)
    assert any("username" in r for r in _password_errors(by_name))
    by_local = _register(api, "my dmitri.k pass!", email="dmitri.k@example.com", username="dima", headers=EN)
    assert any("email" in r for r in _password_errors(by_local))
    # the HTML form states the reason next to the field (zh by default)
    page = browser.submit("/register", {"email": "carol@example.com", "username": "carol",
                                        "password": "carolcarol99", "confirm": "carolcarol99"}, captcha=True)
    assert page.status_code == 422
    assert re.search(r'id="password-errors".*?用户名', page.get_data(as_text=True), re.S)


def test_item_02_password_change_applies_the_same_rules(api, register_user):
    _user, token = register_user()
    for weak, reason in (("password123", "common"), ("alice-forever-1", "username")):
        response = api.post("/me/password", json={"current_password": PASSWORD, "new_password": weak},
                            token=token, headers=EN)
        assert response.status_code == 422
        assert any(reason in r for r in response.get_json()["error"]["fields"]["new_password"])
    assert api_login(api).status_code == 200  # still the old password


# --- item 3 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", [("correct horse battery staple " * 3)[:72],
                                    "密" * 24, "🔑" * 18], ids=["ascii", "cjk", "emoji"])
def test_item_03_passwords_sharing_the_first_72_bytes_do_not_open_each_other(make_service, prefix):
    assert len(prefix.encode()) == 72
    service = make_service(LOGIN_CAPTCHA="never")
    first, second = prefix + " one", prefix + " two"
    service.register_user(email="alice@example.com", username="alice", password=first)
    service.register_user(email="bob@example.com", username="bobby", password=second)
    api = service.api
    assert api_login(api, "alice", second).status_code == 401
    assert api_login(api, "bobby", first).status_code == 401
    assert api_login(api, "alice", prefix).status_code == 401  # nor does the bare prefix
    assert api_login(api, "alice", first).status_code == 200
    assert api_login(api, "bobby", second).status_code == 200
    # and through the sign-in page
    assert web_login(service.browser, "alice", second).status_code == 401
    assert web_login(service.browser, "alice", first).headers["Location"].endswith("/account")


# --- item 4 ---------------------------------------------------------------------------------
BCRYPT = re.compile(r"\$2[aby]\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})")


def test_item_04_stored_hash_is_bcrypt_at_bcrypt_rounds_with_unique_salts(make_service):
    service = make_service(BCRYPT_ROUNDS=6)
    service.register_user(email="alice@example.com", username="alice", password=PASSWORD)
    service.register_user(email="bob@example.com", username="bobby", password=PASSWORD)
    service.api.register(email="carol@example.com", username="carol", password=PASSWORD)  # pending
    hashes = [get_user(service.app, username=name).password_hash for name in ("alice", "bobby")]
    redis = service.app.extensions["authsvc.redis"]
    hashes += [json.loads(redis.get(k))["password_hash"] for k in redis.scan_iter("authsvc:reg:*")]
    parsed = [BCRYPT.fullmatch(h) for h in hashes]
    assert len(parsed) == 3 and all(parsed), hashes
    assert {m.group(1) for m in parsed} == {"06"}
    assert len({m.group(2) for m in parsed}) == 3  # one salt per hash, same password


def test_item_04_default_cost_is_12_and_production_refuses_below_10(base_config):
    from authsvc import create_app

    assert from_environment({})["BCRYPT_ROUNDS"] == 12
    with pytest.raises(RuntimeError, match="BCRYPT_ROUNDS"):
        create_app(dict(base_config, **dict(PRODUCTION, BCRYPT_ROUNDS=9)))


def test_item_04_production_hashes_at_cost_10_and_upgrades_old_hashes(make_service):
    pepper = {"PASSWORD_PEPPER": "one pepper for both apps of this test"}
    old = make_service(BCRYPT_ROUNDS=4, **pepper)
    old.register_user()
    assert get_user(old.app, username="alice").password_hash.startswith("$2b$04$")
    production = make_service(**PRODUCTION, **pepper)  # same database and pepper
    assert api_login(production.api).status_code == 200
    assert get_user(production.app, username="alice").password_hash.startswith("$2b$10$")  # rehashed
    assert api_login(production.api).status_code == 200
    production.api.post("/registrations", json={"email": "bob@example.com", "username": "bobby",
                                                 "password": PASSWORD})
    redis = production.app.extensions["authsvc.redis"]
    pending = [json.loads(redis.get(k))["password_hash"] for k in redis.scan_iter("authsvc:reg:*")]
    assert pending and all(h.startswith("$2b$10$") for h in pending)


# --- item 5 ---------------------------------------------------------------------------------
def test_item_05_no_plaintext_password_code_or_captcha_answer_in_redis_logs_or_audit(make_service, capfd):
    answer = "K7MXHW"  # longer than the default fixed text: no chance match in random data
    service = make_service(LOG_LEVEL="DEBUG", CAPTCHA_FIXED_TEXT=answer, LOGIN_CAPTCHA="never",
                           RESEND_COOLDOWN=0)
    api, browser, mailbox = service.api, service.browser, service.mailbox
    redis = service.app.extensions["authsvc.redis"]
    secrets_used = {PASSWORD, NEW_PASSWORD, "wrong but long password", "not the current one", answer}
    codes = []
    ua = {"User-Agent": "audit-probe"}

    def captcha():
        cid = api.post("/captcha").get_json()["captcha_id"]
        return {"captcha_id": cid, "captcha_answer": answer.lower()}

    # registration through the page: the pending registration holds the hash only
    browser.submit("/register", {"email": "alice@example.com", "username": "alice", "password": PASSWORD,
                                 "confirm": PASSWORD, "captcha": answer}, captcha=True)
    pending = [json.loads(redis.get(k)) for k in redis.scan_iter("authsvc:reg:*")]
    assert len(pending) == 1 and pending[0]["password_hash"].startswith("$2b$")
    assert not {k for k in pending[0] if "password" in k} - {"password_hash"}
    codes.append(mailbox.code("alice@example.com"))
    browser.submit("/register/verify", {"code": codes[-1]})
    # failures, a code sign-in, a reset, a password change
    api.post("/sessions", json={"login": "alice", "password": "wrong but long password"}, headers=ua)
    api.post("/login-codes", json={"email": "alice@example.com", **captcha()})
    codes.append(mailbox.code("alice@example.com"))
    api.post("/sessions/code", json={"email": "alice@example.com", "code": codes[-1]})
    api.post("/password-resets", json={"email": "alice@example.com", **captcha()})
    codes.append(mailbox.code("alice@example.com"))
    api.post("/password-resets/confirm", json={"email": "alice@example.com", "code": codes[-1],
                                               "new_password": NEW_PASSWORD})
    token = api_login(api, "alice", NEW_PASSWORD).get_json()["token"]
    api.post("/me/password", json={"current_password": "not the current one", "new_password": PASSWORD},
             token=token)
    api.post("/me/email", json={"password": NEW_PASSWORD, "new_email": "alice2@example.com"}, token=token)
    codes.append(mailbox.code("alice2@example.com"))
    api.post("/registrations", json={"email": "bob@example.com", "username": "bobby", "password": PASSWORD,
                                     **captcha()})  # a code still queued, unsent, in Redis
    assert len(set(codes)) >= 2

    def leaks(blob):
        found = [s for s in secrets_used if s.lower() in blob.lower()]
        found += [c for c in codes if re.search(rf"(?<![0-9a-fA-F]){c}(?![0-9a-fA-F])", blob)]
        return found

    for key, values in redis_values(redis):
        for value in [key] + values:
            assert not leaks(value.decode("latin-1")), f"secret in Redis key {key!r}"
    logs = capfd.readouterr().err
    assert '"logger": "authsvc.audit"' in logs  # the logs were captured
    assert not leaks(logs), leaks(logs)
    events = json.dumps(audit_events(service.app), ensure_ascii=False)
    assert "login.failure" in events and "password.reset" in events
    assert not leaks(events), leaks(events)


# --- item 6 ---------------------------------------------------------------------------------
def test_item_06_change_password_page_needs_the_current_password(browser, register_user, api):
    register_user()
    web_login(browser)
    for current in ("", "not my password at all"):
        response = browser.submit("/account/password", {"current_password": current,
                                                         "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert 400 <= response.status_code < 500, current
    assert api_login(api, "alice", NEW_PASSWORD, **api.captcha()).status_code == 401
    assert api_login(api, "alice", PASSWORD, **api.captcha()).status_code == 200


def test_item_06_wrong_current_password_shares_the_sign_in_failure_budget(make_service):
    service = make_service(LOGIN_CAPTCHA="never")
    _user, token = service.register_user()
    api = service.api
    web_login(service.browser)
    wrong = {"current_password": "nope nope nope", "new_password": NEW_PASSWORD}
    assert api.post("/me/password", json=wrong, token=token).status_code == 400
    assert api.post("/me/password", json=wrong, token=token).status_code == 400
    page = service.browser.submit("/account/password", dict(wrong, confirm=NEW_PASSWORD))
    assert page.status_code == 400
    assert api_login(api, "alice", "wrong password!").status_code == 401  # the fourth failure
    assert api_login(api, "alice", "wrong password!").status_code == 423  # the fifth locks
    assert api_login(api, "alice", PASSWORD).status_code == 423


# --- item 7 ---------------------------------------------------------------------------------
class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inputs = []
        self.handlers = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.handlers += [name for name in attributes if name in ("onpaste", "oncopy", "ondrop", "oncut")]
        if tag == "input":
            self.inputs.append(attributes)


NEW = "new-password"
CURRENT = "current-password"
EXPECTED_PASSWORD_FIELDS = {
    "/register": {"password": NEW, "confirm": NEW},
    "/login": {"password": CURRENT},
    "/reset/verify": {"new_password": NEW, "confirm": NEW},
    "/account/password": {"current_password": CURRENT, "new_password": NEW, "confirm": NEW},
    "/account/email": {"password": CURRENT},
    "/account/confirm-password": {"password": CURRENT},
}


def test_item_07_password_fields_type_autocomplete_paste_and_no_hints(app, register_user):
    register_user()
    anonymous, signed = Browser_for(app), Browser_for(app)
    reset = Browser_for(app)
    reset.submit("/reset", {"email": "alice@example.com"}, captcha=True)
    web_login(signed)
    pages = {"/register": anonymous, "/login": anonymous, "/reset/verify": reset,
             "/account/password": signed, "/account/email": signed, "/account/confirm-password": signed}
    for path, expected in EXPECTED_PASSWORD_FIELDS.items():
        response = pages[path].get(path)
        assert response.status_code == 200, path
        parser = _Inputs()
        parser.feed(response.get_data(as_text=True))
        assert not parser.handlers, (path, parser.handlers)  # nothing intercepts paste
        secret = {i.get("name"): i for i in parser.inputs if i.get("type") == "password"}
        assert set(secret) == set(expected), (path, set(secret))
        for name, autocomplete in expected.items():
            field = secret[name]
            assert field.get("autocomplete") == autocomplete, (path, name, field)
            assert "maxlength" not in field or int(field["maxlength"]) >= 128, (path, name, field)
            assert "pattern" not in field, (path, name)
        names = " ".join((i.get("name") or "") + " " + (i.get("id") or "") for i in parser.inputs).lower()
        assert "hint" not in names and "question" not in names, path
    script = anonymous.get("/static/js/app.js").get_data(as_text=True)
    assert "paste" not in script.lower()
