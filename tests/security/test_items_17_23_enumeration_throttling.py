"""SECURITY.md items 17-23: enumeration, throttling, captcha and invite codes."""

import io
import math
import re
import statistics
import time
from collections import Counter

from PIL import Image

from authsvc.extensions import db
from authsvc.models import InviteCode, User

from .helpers import (CAPTCHA_TEXT, NEW_PASSWORD, PASSWORD, Browser_for, admin_token, api_login, decodings,
                      get_user, signed_in, web_login)

CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+(")')


def _page(response, typed=()):
    """A page's HTML without what legitimately differs: the CSRF token and what was typed."""
    html = CSRF_VALUE.sub(r"\1CSRF\2", response.get_data(as_text=True))
    for value in typed:
        html = html.replace(value, "TYPED")
    return html


def _deactivate(app, username):
    with app.app_context():
        db.session.execute(db.update(User).where(User.username == username).values(active=False))
        db.session.commit()


# --- item 17 --------------------------------------------------------------------------------
def test_item_17_locked_accounts_and_locked_unknown_names_answer_alike(make_service):
    service = make_service(LOGIN_CAPTCHA="never")
    service.register_user()
    api = service.api
    for name in ("alice", "ghost@example.com"):
        statuses = [api_login(api, name, "wrong password!").status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 401, 423], name
    answers = [api_login(api, "alice", PASSWORD), api_login(api, "alice", "wrong password!"),
               api_login(api, "ghost@example.com", PASSWORD)]
    assert {r.status_code for r in answers} == {423}
    errors = [r.get_json()["error"] for r in answers]
    assert len({(e["code"], e["message"], tuple(sorted(e))) for e in errors}) == 1
    assert max(e["retry_after"] for e in errors) - min(e["retry_after"] for e in errors) <= 2


def test_item_17_the_sign_in_page_answers_unknown_wrong_and_inactive_alike(make_service):
    service = make_service(LOGIN_CAPTCHA="never")
    service.register_user()
    service.register_user(email="bob@example.com", username="bobby")
    _deactivate(service.app, "bobby")
    pages = []
    for name, password in (("carla", "wrong password!"), ("alice", "wrong password!"), ("bobby", PASSWORD)):
        page = web_login(Browser_for(service.app), name, password)
        pages.append((page.status_code, _page(page, typed=[name])))
    assert {status for status, _ in pages} == {401}
    assert pages[0][1] == pages[1][1] == pages[2][1]


def _median_ms(service, attempts, rounds):
    samples = {kind: [] for kind in attempts}
    for _ in range(rounds):
        for kind, (name, password) in attempts.items():
            started = time.perf_counter()
            response = api_login(service.api, name, password)
            samples[kind].append(time.perf_counter() - started)
            assert response.status_code in (401, 423), (kind, response.status_code)
    return {kind: statistics.median(values) * 1000 for kind, values in samples.items()}


def test_item_17_inactive_accounts_take_as_long_as_unknown_names(make_service):
    service = make_service(BCRYPT_ROUNDS=9, LOGIN_CAPTCHA="never", LOGIN_LOCKOUT_THRESHOLD=1000,
                           LOGIN_LIMIT_PER_IP="1000 per minute")
    service.register_user()
    _deactivate(service.app, "alice")
    medians = _median_ms(service, {"inactive": ("alice", PASSWORD), "unknown": ("ghost", PASSWORD)}, 15)
    print(f"median ms: {medians}")
    assert abs(medians["inactive"] - medians["unknown"]) / max(medians.values()) < 0.10


def test_item_17_locked_accounts_take_as_long_as_locked_unknown_names(make_service):
    service = make_service(BCRYPT_ROUNDS=9, LOGIN_CAPTCHA="never", LOGIN_LOCKOUT_THRESHOLD=1,
                           LOGIN_LIMIT_PER_IP="1000 per minute")
    service.register_user()
    for name in ("alice", "ghost"):
        assert api_login(service.api, name, "wrong password!").status_code == 423
    medians = _median_ms(service, {"locked": ("alice", PASSWORD), "unknown": ("ghost", PASSWORD)}, 30)
    print(f"median ms: {medians}")
    # both answers skip the hash; allow 1 ms of scheduler noise on these few-millisecond requests
    assert abs(medians["locked"] - medians["unknown"]) <= max(1.0, 0.10 * max(medians.values()))


# --- item 18 --------------------------------------------------------------------------------
def test_item_18_reset_pages_and_queued_work_are_the_same_for_unknown_addresses(app, register_user, mailbox):
    register_user()
    mailbox.server.clear()
    redis = app.extensions["authsvc.redis"]
    answers = []
    for email in ("alice@example.com", "anna@example.com"):  # both shown as a***@example.com
        browser = Browser_for(app)
        queued_before = redis.llen("authsvc:mail:queue")
        sent = browser.submit("/reset", {"email": email}, captcha=True)
        queued = redis.llen("authsvc:mail:queue") - queued_before
        codes_stored = len(list(redis.scan_iter("authsvc:code:reset:*")))
        verify = browser.get("/reset/verify")
        answers.append((sent.status_code, sent.headers.get("Location"), queued, _page(verify)))
        assert codes_stored == len(answers)  # a code is stored for either address
    assert answers[0] == answers[1]
    assert answers[0][:3] == (302, "/reset/verify", 1)
    assert len(mailbox.messages("alice@example.com")) == 1 and mailbox.messages("anna@example.com") == []


# --- item 19 --------------------------------------------------------------------------------
def test_item_19_registering_a_taken_address_answers_exactly_like_a_new_one(make_service):
    service = make_service(RESEND_COOLDOWN=0)
    service.register_user()
    api, mailbox = service.api, service.mailbox
    mailbox.server.clear()
    taken = api.register(email="alice@example.com", username="alice2")
    fresh = api.register(email="anna@example.com", username="anna")
    assert taken.status_code == fresh.status_code == 202
    taken_body, fresh_body = taken.get_json(), fresh.get_json()
    # each registration has its own random id, of the same length; all else byte-for-byte alike
    assert len(taken_body.pop("registration_id")) == len(fresh_body.pop("registration_id"))
    assert taken_body == fresh_body  # same mask a***@example.com
    notice = mailbox.last("alice@example.com")
    assert not re.search(r"\b\d{6}\b", notice["Subject"] + notice.get_body(("plain",)).get_content())
    assert re.search(r"\b\d{6}\b", mailbox.last("anna@example.com")["Subject"])
    # the HTML form, too. The code page shows the send limits' wait, which follows the sends
    # made to an address (alice had more above), not the account: start both from none.
    redis = service.app.extensions["authsvc.redis"]
    for key in redis.scan_iter("authsvc:send:email:*"):
        redis.delete(key)
    pages = []
    for email, name in (("alice@example.com", "alice3"), ("amy@example.com", "amy3")):
        browser = Browser_for(service.app)
        sent = browser.submit("/register", {"email": email, "username": name, "password": PASSWORD,
                                            "confirm": PASSWORD}, captcha=True)
        pages.append((sent.status_code, sent.headers.get("Location"), _page(browser.get("/register/verify"))))
    assert pages[0] == pages[1] and pages[0][0] == 302
    with service.app.app_context():
        assert db.session.query(User).filter(User.email == "alice@example.com").count() == 1


# --- item 20 --------------------------------------------------------------------------------
def test_item_20_threshold_and_duration_come_from_settings_and_the_lock_expires(make_service):
    service = make_service(LOGIN_LOCKOUT_THRESHOLD=3, LOGIN_LOCKOUT_SECONDS=1, LOGIN_CAPTCHA="never")
    service.register_user()
    api = service.api
    statuses = [api_login(api, "alice", "wrong password!") for _ in range(3)]
    assert [r.status_code for r in statuses] == [401, 401, 423]
    assert statuses[-1].get_json()["error"]["retry_after"] == 1
    assert api_login(api).status_code == 423
    time.sleep(1.2)
    assert api_login(api).status_code == 200


def test_item_20_a_reset_request_changes_nothing_and_a_reset_by_code_works_while_locked(make_service):
    service = make_service(LOGIN_CAPTCHA="never")
    service.register_user()
    api, browser, mailbox = service.api, service.browser, service.mailbox
    for _ in range(5):
        api_login(api, "alice", "wrong password!")
    assert api_login(api).status_code == 423
    mailbox.server.clear()
    assert browser.submit("/reset", {"email": "alice@example.com"}, captcha=True).status_code == 302
    assert api_login(api).status_code == 423  # a request alone neither unlocks nor changes the password
    assert api_login(api, "alice", NEW_PASSWORD).status_code == 423
    done = browser.submit("/reset/verify", {"code": mailbox.code("alice@example.com"),
                                            "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert web_login(browser, "alice", NEW_PASSWORD).headers["Location"].endswith("/account")


# --- item 21 --------------------------------------------------------------------------------
def test_item_21_without_a_captcha_one_ip_walking_accounts_meets_429(make_service):
    service = make_service(CAPTCHA_ENABLED=False)  # default LOGIN_LIMIT_PER_IP: 30 per minute
    service.register_user()
    api = service.api
    statuses = [api_login(api, f"user{i}@example.com", "Summer2024!").status_code for i in range(30)]
    assert statuses == [401] * 30
    refused = api_login(api, "alice")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # the sign-in page shares the budget
    page = web_login(service.browser)
    assert page.status_code == 429 and not signed_in(service.browser)
    assert api_login(api, ip="192.0.2.44").status_code == 200  # another client is unaffected


# --- item 22 --------------------------------------------------------------------------------
def test_item_22_the_captcha_picture_endpoint_is_rate_limited(make_service):
    client = make_service(CAPTCHA_IMAGE_LIMIT="3 per minute").app.test_client()
    responses = [client.get("/captcha.png") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert int(responses[-1].headers["Retry-After"]) > 0


def test_item_22_page_captcha_is_single_use_replaced_after_failure_and_case_insensitive(app, browser):
    def reset(email, answer, new_picture=True):
        if new_picture:
            assert browser.get("/captcha.png").status_code == 200
        return browser.submit("/reset", {"email": email, "captcha": answer})

    assert reset("a@example.com", "WRONG").status_code == 400
    assert reset("a@example.com", CAPTCHA_TEXT, new_picture=False).status_code == 400  # replaced
    assert reset("a@example.com", f" {CAPTCHA_TEXT.lower()} ").status_code == 302  # any case
    second = browser.submit("/login/code", {"email": "b@example.com", "captcha": CAPTCHA_TEXT})
    assert second.status_code == 400  # the solved picture was used up


def test_item_22_page_captcha_expires(make_service):
    browser = make_service(CAPTCHA_TTL=1).browser
    browser.get("/captcha.png")
    time.sleep(1.3)
    assert browser.submit("/reset", {"email": "a@example.com", "captcha": CAPTCHA_TEXT}).status_code == 400


def test_item_22_the_answer_never_leaves_the_server(client):
    picture = client.get("/captcha.png")
    image = Image.open(io.BytesIO(picture.get_data()))
    metadata = " ".join(str(v) for v in image.info.values())
    visible = [picture.get_data().decode("latin-1"), metadata]
    visible += [form for value in picture.headers.values() for form in decodings(value)]
    api_answer = client.post("/api/v1/captcha")
    visible += [api_answer.get_data(as_text=True)]
    visible += [form for value in api_answer.headers.values() for form in decodings(value)]
    assert not [v for v in visible if CAPTCHA_TEXT.lower() in v.lower()]


# --- item 23 --------------------------------------------------------------------------------
def test_item_23_generated_invite_codes_carry_at_least_64_bits(app, api):
    token = admin_token(app, api)
    created = api.post("/admin/invites", json={"count": 300, "uses": 1}, token=token)
    assert created.status_code == 201
    raw = [item["code"].replace("-", "") for item in created.get_json()["items"]]
    assert len(set(raw)) == 300
    alphabet = Counter("".join(raw))
    lengths = {len(c) for c in raw}
    bits = min(lengths) * math.log2(len(alphabet))
    print(f"{len(alphabet)} symbols x {min(lengths)} = {bits:.1f} bits")
    assert bits >= 64
    expected = sum(alphabet.values()) / len(alphabet)
    assert all(0.6 * expected < n < 1.4 * expected for n in alphabet.values())  # no favoured symbols
    assert len({c[:4] for c in raw}) > 250  # no shared prefix or counter


def test_item_23_a_registration_that_failed_leaves_the_last_use_to_someone_else(make_service):
    service = make_service(REGISTRATION_MODE="invite", RESEND_COOLDOWN=0)
    with service.app.app_context():
        db.session.add(InviteCode(code="LAST-USE", all_cnt=1))
        db.session.commit()
    api, mailbox = service.api, service.mailbox
    assert api.register(email="alice@example.com", username="alice", invite_code="LAST-USE").status_code == 202
    right = mailbox.code("alice@example.com")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(5):  # the code is void after five wrong tries: alice's registration failed
        api.confirm_registration("alice@example.com", wrong)
    assert api.confirm_registration("alice@example.com", right).status_code == 400
    weak = api.register(email="carl@example.com", username="carl", password="password1", invite_code="LAST-USE")
    assert weak.status_code == 422  # refused at the form: no use taken either
    assert api.register(email="bob@example.com", username="bobby", invite_code="LAST-USE").status_code == 202
    done = api.confirm_registration("bob@example.com", mailbox.code("bob@example.com"))
    assert done.status_code == 201
    with service.app.app_context():
        invite = db.session.execute(db.select(InviteCode).filter_by(code="LAST-USE")).scalar_one()
        assert invite.used_cnt == 1 and [u.user.username for u in invite.uses] == ["bobby"]
    assert get_user(service.app, username="alice") is None
