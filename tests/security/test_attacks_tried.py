"""Attacks tried against the running service, one test each, asserting what an attacker or the
account owner would notice.

Races are made deterministic: the racing request is held at one point inside the real code
(`held_inside`: the first call of a function waits until the test lets it go), and the
competing request runs through the real stack meanwhile. Everything else is plain HTTP against
the app (Flask test client), real Redis, real SMTP (aiosmtpd) and the migrated database.

Findings (each failed before its fix):
  - an ended browser session (ended from the account list, or by signing out) came back when a
    request of that same session was in flight: the request saved its copy of the record again
    (against gunicorn, a thief hammering POST /account/notifications stayed signed in 5 times
    out of 5 after the owner ended the session);
  - a copy of the session cookie kept working after the owner changed the password in that
    very session (the id was not renewed), and the owner's own other tab could sign him out
    by saving the pre-change record over the new one;
  - an unsubscribe link kept switching the account's notices off after the account had moved
    to another address;
  - two requests creating the same chosen invite code at once: one got a 500.
The other tests document attacks that held.
"""

import json
import re
import threading
from contextlib import contextmanager

from authsvc import keys
from authsvc.crypto import token_hash
from authsvc.extensions import db
from authsvc.models import User
from authsvc.services import captcha as captcha_service
from authsvc.services import invites as invites_service
from authsvc.services import tokens as tokens_service

from .helpers import PASSWORD, Api_for, Browser_for, admin_token, api_login, signed_in, web_login

COOKIE = "authsvc_session"


@contextmanager
def held_inside(monkeypatch, module, name):
    """The first call of module.name waits (after `inside` is set) until `release` is set."""
    original = getattr(module, name)
    inside, release = threading.Event(), threading.Event()
    first = threading.Lock()

    def wrapper(*args, **kwargs):
        if first.acquire(blocking=False):
            inside.set()
            assert release.wait(10), "the held request was never released"
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    try:
        yield inside, release
    finally:
        release.set()
        monkeypatch.setattr(module, name, original)


def in_background(call):
    """Run call() in a thread; returns (thread, result dict)."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("answer", call()), daemon=True)
    thread.start()
    return thread, result


def copy_of_cookie(app, browser):
    """A second browser carrying a copy of `browser`'s session cookie (a stolen cookie)."""
    thief = Browser_for(app)
    thief.client.set_cookie(COOKIE, browser.client.get_cookie(COOKIE).value)
    return thief


def web_sessions(api, token):
    return [s for s in api.get("/me/sessions", token=token).get_json()["items"] if s["kind"] == "web"]


# --- races -------------------------------------------------------------------------------------

def test_an_ended_session_stays_ended_when_a_request_of_it_was_in_flight(app, api, register_user,
                                                                           monkeypatch):
    """Attack: a thief with a copied session cookie keeps requests going; the owner ends that
    session from the list. FOUND: the thief's request in flight saved the record again, so
    the thief stayed signed in and the session was listed again."""
    _user, token = register_user()
    thief = Browser_for(app)
    assert web_login(thief).status_code == 302
    [listed] = web_sessions(api, token)
    with held_inside(monkeypatch, captcha_service, "new_captcha") as (inside, release):
        thread, result = in_background(lambda: thief.get("/captcha.png"))  # writes the session
        assert inside.wait(10)
        assert api.delete(f"/me/sessions/{listed['id']}", token=token).status_code == 204
        release.set()
        thread.join(10)
    assert result["answer"].status_code == 200
    assert not signed_in(thief), "the ended session came back"
    assert web_sessions(api, token) == []


def test_signing_out_is_not_undone_by_a_request_of_the_same_session_in_flight(app, register_user,
                                                                                  monkeypatch):
    """Attack: a copy of the cookie keeps a request in flight while the owner signs out.
    FOUND: that request saved the session again and its answer handed the cookie back."""
    register_user()
    owner = Browser_for(app)
    web_login(owner)
    thief = copy_of_cookie(app, owner)
    with held_inside(monkeypatch, captcha_service, "new_captcha") as (inside, release):
        thread, result = in_background(lambda: thief.get("/captcha.png"))
        assert inside.wait(10)
        assert owner.submit("/logout", {}, page="/account").status_code == 302
        release.set()
        thread.join(10)
    assert result["answer"].status_code == 200
    assert not signed_in(owner)
    assert not signed_in(thief), "signing out was undone by the request in flight"


def test_a_revoked_token_is_not_brought_back_by_a_request_of_it_in_flight(app, api, register_user,
                                                                          monkeypatch):
    """Attack: keep a request in flight with a stolen token (one that refreshes its last-seen
    time) while the owner revokes it. HELD: the refresh only updates a record that still
    exists (SET XX)."""
    _user, stolen = register_user()
    mine = api_login(api).get_json()["token"]
    listed = {s["current"]: s["id"] for s in api.get("/me/sessions", token=mine).get_json()["items"]}
    redis = app.extensions["authsvc.redis"]
    key = keys.api_token(token_hash(stolen))
    record = json.loads(redis.get(key))
    record["meta"]["last_seen"] = 0  # due for its last-seen refresh
    redis.set(key, json.dumps(record), keepttl=True)
    thief = Api_for(app)
    with held_inside(monkeypatch, tokens_service, "client_ip") as (inside, release):
        thread, result = in_background(lambda: thief.get("/me", token=stolen))
        assert inside.wait(10)  # read the record, about to write it back
        assert api.delete(f"/me/sessions/{listed[False]}", token=mine).status_code == 204
        release.set()
        thread.join(10)
    assert result["answer"].status_code == 200  # it was valid when the request began
    assert thief.get("/me", token=stolen).status_code == 401
    assert [s["current"] for s in api.get("/me/sessions", token=mine).get_json()["items"]] == [True]


def test_a_sign_in_racing_a_deactivation_yields_a_dead_token(app, api, register_user, monkeypatch):
    """Attack: sign in while an admin deactivates the account (password checked before, token
    issued after the deactivation). HELD: the token carries the auth epoch read before the
    deactivation rotated it, so it is dead, even once the account is active again."""
    user, _token = register_user()
    admin = admin_token(app, api)
    racer = Api_for(app)
    with held_inside(monkeypatch, tokens_service, "issue_api_token") as (inside, release):
        thread, result = in_background(lambda: api_login(racer))
        assert inside.wait(10)  # password accepted, token not yet issued
        assert api.post(f"/admin/users/{user['id']}/deactivate", token=admin).status_code == 200
        release.set()
        thread.join(10)
    token = result["answer"].get_json()["token"]
    assert racer.get("/me", token=token).status_code == 401
    assert api_login(racer).status_code == 401
    # and it stays dead when the account is activated again (the epoch, not only `active`)
    assert api.post(f"/admin/users/{user['id']}/activate", token=admin).status_code == 200
    assert racer.get("/me", token=token).status_code == 401


def test_two_admins_choosing_the_same_invite_code_at_once_get_no_500(app, api, monkeypatch):
    """Attack: two requests create the same chosen invite code at once (a double submit, or two
    admins), both past the "already exists?" check before either inserts. FOUND: the loser of
    the unique constraint got 500 internal_error; now the same 422 as a sequential duplicate."""
    token = admin_token(app, api)
    real = invites_service.InviteCode

    class HeldAfterTheCheck:
        """InviteCode for create_invites: the first construction waits (after the check)."""
        inside, release, first = threading.Event(), threading.Event(), threading.Lock()

        def __getattr__(self, name):
            return getattr(real, name)

        def __call__(self, **fields):
            if self.first.acquire(blocking=False):
                self.inside.set()
                assert self.release.wait(10)
            return real(**fields)

    held = HeldAfterTheCheck()
    monkeypatch.setattr(invites_service, "InviteCode", held)
    other = Api_for(app)
    thread, result = in_background(lambda: other.post("/admin/invites", json={"code": "SPRING-2026"},
                                                      token=token))
    try:
        assert held.inside.wait(10)
        assert api.post("/admin/invites", json={"code": "SPRING-2026"}, token=token).status_code == 201
    finally:
        held.release.set()
        thread.join(10)
        monkeypatch.setattr(invites_service, "InviteCode", real)
    late = result["answer"]
    assert late.status_code == 422, late.get_json()
    assert late.get_json()["error"]["fields"]["code"]
    listed = api.get("/admin/invites", token=token).get_json()["items"]
    assert [i["code"] for i in listed] == ["SPRING-2026"]


# --- replay -----------------------------------------------------------------------------------

def test_a_copied_cookie_dies_when_the_owner_changes_the_password_in_that_session(app, register_user):
    """Attack: a thief holds a copy of the owner's session cookie; the owner changes the
    password in that very session. FOUND: the session kept its id, so the copy stayed signed
    in. The owner carries on in a renewed session."""
    register_user()
    owner = Browser_for(app)
    web_login(owner)
    thief = copy_of_cookie(app, owner)
    assert signed_in(thief)
    changed = owner.submit("/account/password", {"current_password": PASSWORD,
                                                 "new_password": "a brand new passphrase",
                                                 "confirm": "a brand new passphrase"})
    assert changed.status_code == 302 and changed.headers["Location"].endswith("/account")
    assert signed_in(owner)
    assert not signed_in(thief), "the copied cookie survived the password change"


def test_confirming_the_password_renews_the_session_id(make_service):
    """Attack: a thief holds a copy of a code-only session's cookie and waits for the owner to
    confirm the password in it. FOUND: the confirmation kept the id, so the thief's copy was
    raised to a password session (password and email changes open) with the owner's act."""
    service = make_service(CAPTCHA_ENABLED=False)
    app = service.app
    service.register_user()
    owner = Browser_for(app)
    owner.submit("/login/code", {"email": "alice@example.com"})
    owner.submit("/login/code/verify", {"code": service.mailbox.code("alice@example.com")})
    assert signed_in(owner)
    thief = copy_of_cookie(app, owner)
    assert thief.get("/account/password").status_code == 302  # code-only: asks for the password
    confirmed = owner.submit("/account/confirm-password?next=/account/password", {"password": PASSWORD},
                             page="/account/confirm-password")
    assert confirmed.status_code == 302 and confirmed.headers["Location"].endswith("/account/password")
    assert owner.get("/account/password").status_code == 200
    assert thief.get("/account/password").status_code == 302, "the copy rode on the owner's confirmation"


def test_the_owners_own_request_in_flight_does_not_undo_the_renewed_session(app, register_user,
                                                                              monkeypatch):
    """The fixes above renew the id and refuse to save an ended record; the owner's other tab,
    whose request was in flight meanwhile, must neither bring the old id back nor drop the new
    cookie when its answer arrives last."""
    register_user()
    owner = Browser_for(app)
    web_login(owner)
    with held_inside(monkeypatch, captcha_service, "new_captcha") as (inside, release):
        thread, result = in_background(lambda: owner.get("/captcha.png"))  # the other tab
        assert inside.wait(10)
        changed = owner.submit("/account/password", {"current_password": PASSWORD,
                                                     "new_password": "a brand new passphrase",
                                                     "confirm": "a brand new passphrase"})
        assert changed.status_code == 302
        renewed = owner.client.get_cookie(COOKIE).value
        release.set()
        thread.join(10)
    assert result["answer"].status_code == 200
    assert owner.client.get_cookie(COOKIE).value == renewed
    assert signed_in(owner)


def test_an_unsubscribe_link_stops_working_once_the_account_moved_to_another_address(make_service):
    """Attack: whoever still reads the old mailbox keeps an old new-device notice and, after the
    owner moved the account to another address, switches the notices off with its link.
    FOUND: the link kept working; it now belongs to the address it was mailed to."""
    service = make_service(NOTIFY_NEW_DEVICE=True)
    api, mailbox = service.api, service.mailbox
    _user, token = service.register_user()
    mailbox.server.clear()
    api_login(api)  # a new device: a notice with an unsubscribe link to alice@example.com
    old_notice = mailbox.last("alice@example.com")
    link = re.search(r"<https://accounts.example.com(/notifications/unsubscribe/[^>]+)>",
                     old_notice["List-Unsubscribe"]).group(1)
    assert api.post("/me/email", json={"password": PASSWORD, "new_email": "alice.new@example.com"},
                    token=token).status_code == 202
    assert api.post("/me/email/confirm", json={"code": mailbox.code("alice.new@example.com")},
                    token=token).status_code == 200
    other = service.app.test_client()
    assert other.get(link).status_code == 404
    assert other.post(link).status_code == 404
    with service.app.app_context():
        assert db.session.execute(db.select(User).filter_by(username="alice")).scalar_one().notify_new_device
    # the owner still hears about new devices, at the new address, and that link works
    with service.app.app_context():
        service.app.extensions["authsvc.redis"].delete(keys.notice_sent("new_device", _user["id"]))
    mailbox.server.clear()
    api_login(api)
    new_notice = mailbox.last("alice.new@example.com")
    new_link = re.search(r"<https://accounts.example.com(/notifications/unsubscribe/[^>]+)>",
                         new_notice["List-Unsubscribe"]).group(1)
    assert other.post(new_link).status_code == 200


def test_a_device_token_or_second_step_code_of_one_account_does_not_serve_another(make_service):
    """Attack: bob replays his remembered-device token, and then his own second-step code, on
    alice's sign-in. HELD: device tokens are signed per account; codes are bound to the
    address of the account being signed in."""
    service = make_service(LOGIN_SECOND_FACTOR="new_device", LOGIN_CAPTCHA="never", RESEND_COOLDOWN=0)
    api, mailbox = service.api, service.mailbox
    service.register_user()
    service.register_user(email="bob@example.com", username="bob")
    bob = api_login(api, "bob")
    assert bob.status_code == 202
    bob_device = api.post("/sessions/second-factor", json={
        "challenge": bob.get_json()["challenge"], "code": mailbox.code("bob@example.com")}).get_json()["device_token"]
    alice = api_login(api, "alice", device_token=bob_device)
    assert alice.status_code == 202, "bob's device token skipped alice's second step"
    bob_again = api_login(api, "bob")  # a fresh code in bob's mailbox
    wrong = api.post("/sessions/second-factor", json={"challenge": alice.get_json()["challenge"],
                                                      "code": mailbox.code("bob@example.com")})
    assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "invalid_code"
    assert bob_again.status_code == 202


# --- privilege --------------------------------------------------------------------------------

def test_one_user_cannot_end_another_users_session_or_token_by_its_id(app, api, register_user):
    """Attack (IDOR): bob ends alice's token and browser session by their listed ids, over the
    API and the account page. HELD: ids are looked up in bob's own list only (404)."""
    _alice, alice_token = register_user()
    _bob, bob_token = register_user(email="bob@example.com", username="bob")
    alice_browser = Browser_for(app)
    web_login(alice_browser)
    ids = [s["id"] for s in api.get("/me/sessions", token=alice_token).get_json()["items"]]
    assert len(ids) == 2
    bob_browser = Browser_for(app)
    web_login(bob_browser, "bob")
    for public_id in ids:
        answer = api.delete(f"/me/sessions/{public_id}", token=bob_token)
        assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"
        page = bob_browser.submit(f"/account/sessions/{public_id}/end", {}, page="/account")
        assert page.status_code == 302
    assert api.get("/me", token=alice_token).status_code == 200
    assert signed_in(alice_browser) and signed_in(bob_browser)
    assert len(api.get("/me/sessions", token=alice_token).get_json()["items"]) == 2


def test_the_api_ignores_the_browser_session_cookie(app, register_user):
    """Attack (CSRF on the API): a signed-in browser's cookie rides along to /api/v1. HELD:
    the API authenticates bearer tokens only; the cookie opens nothing and changes nothing."""
    register_user()
    browser = Browser_for(app)
    web_login(browser)
    assert browser.client.get("/api/v1/me").status_code == 401
    forged = browser.client.post("/api/v1/me/notifications", json={"new_device": False})
    assert forged.status_code == 401
    listed = browser.client.get("/api/v1/me/sessions")
    assert listed.status_code == 401
    with app.app_context():
        assert db.session.execute(db.select(User).filter_by(username="alice")).scalar_one().notify_new_device


# --- enumeration ------------------------------------------------------------------------------

def _shape(response):
    """What an attacker sees of an answer: status, every header but the per-request ones (the
    clock-derived values of the per-IP request limiter only by name: each IP here is fresh),
    the body with the random registration id blanked, and its size."""
    clock = ("X-RateLimit-Reset", "Retry-After") if response.status_code not in (423, 429) else ()
    headers = sorted((k, "…" if k in clock else v) for k, v in response.headers.items()
                     if k not in ("X-Request-ID", "Date"))
    body = re.sub(r'"registration_id":"[A-Za-z0-9_-]{22}"', '"registration_id":"…"',
                  response.get_data(as_text=True))
    return response.status_code, headers, body, len(response.get_data())


def test_every_address_flow_answers_alike_for_unknown_active_inactive_and_locked_accounts(make_service):
    """Attack: tell which addresses have accounts (and which are inactive or locked) from the
    code sign-in request and a guess at its code, the reset request and a guess at its code,
    the registration start, and an email change to the address and a guess at its code:
    status, body, size, every header. HELD: byte for byte the same answers."""
    # the address and cooldown limits are the same for every address; widened here only because
    # the setup's own registrations already charged three of the four addresses
    service = make_service(SEND_LIMIT_PER_EMAIL="10 per 5 minutes", RESEND_COOLDOWN=0)
    api, app = service.api, service.app
    for email, username in (("u1@example.com", "userone"), ("u2@example.com", "usertwo"),
                            ("u3@example.com", "userthree")):
        service.register_user(email=email, username=username)
    _watcher, token = service.register_user(email="watcher@example.com", username="watcher")
    with app.app_context():
        db.session.execute(db.update(User).where(User.email == "u2@example.com").values(active=False))
        db.session.commit()
    for attempt in range(5):  # u3 locked by wrong passwords (captchas after the third)
        extra = api.captcha(ip="10.9.9.9") if attempt >= 3 else {}
        api_login(api, "userthree", "wrong password here", ip="10.9.9.9", **extra)
    assert api_login(api, "userthree", ip="10.9.9.8", **api.captcha(ip="10.9.9.8")).status_code == 423
    addresses = {"active": "u1@example.com", "inactive": "u2@example.com", "locked": "u3@example.com",
                 "unknown": "u4@example.com"}
    wrong = "000000"
    flows = {
        "code sign-in request": lambda email, ip: api.post(
            "/login-codes", json={"email": email, **api.captcha(ip=ip)}, ip=ip),
        "code sign-in guess": lambda email, ip: api.post(
            "/sessions/code", json={"email": email, "code": wrong}, ip=ip),
        "reset request": lambda email, ip: api.post(
            "/password-resets", json={"email": email, **api.captcha(ip=ip)}, ip=ip),
        "reset guess": lambda email, ip: api.post(
            "/password-resets/confirm", json={"email": email, "code": wrong,
                                              "new_password": "violet harbour lantern 8"}, ip=ip),
        "registration": lambda email, ip: api.post(
            "/registrations", json={"email": email, "username": "fresh" + ip.replace(".", ""),
                                    "password": "violet harbour lantern 7", **api.captcha(ip=ip)}, ip=ip),
        "email change request": lambda email, ip: api.post(
            "/me/email", json={"password": PASSWORD, "new_email": email}, token=token, ip=ip),
        "email change guess": lambda email, ip: api.post(
            "/me/email/confirm", json={"code": wrong}, token=token, ip=ip),
    }
    seen = {flow: {} for flow in flows}
    for number, (state, email) in enumerate(addresses.items()):
        for index, (flow, send) in enumerate(flows.items()):
            answer = send(email, f"10.1.{index}.{number}")
            seen[flow][state] = _shape(answer)
    for flow, shapes in seen.items():
        assert shapes["active"][0] in (202, 400), (flow, shapes["active"])
        assert all(shape == shapes["unknown"] for shape in shapes.values()), (flow, shapes)


def test_an_idn_address_in_unicode_and_in_punycode_is_one_address(api, mailbox):
    """Attack: double the mails to one inbox (and the guesses at its codes) by spelling its
    domain once in Unicode and once in punycode. HELD: both normalise to one address, one
    send bucket and one code."""
    first = api.post("/login-codes", json={"email": "Bob@Bücher.de", **api.captcha()})
    assert first.status_code == 202
    again = api.post("/login-codes", json={"email": "bob@xn--bcher-kva.de", **api.captcha()})
    assert again.status_code == 429 and again.headers["Retry-After"]
    guess = api.post("/sessions/code", json={"email": "BOB@XN--BCHER-KVA.DE", "code": "000000"})
    assert guess.status_code == 400 and guess.get_json()["error"]["code"] == "invalid_code"  # the same code


def test_every_spelling_of_one_login_feeds_one_lockout(make_service):
    """Attack: spread password guesses over spellings of one account (username, email, upper
    case, full-width, spaces) to stay under the lockout. HELD: they all count for one account,
    and the right password is refused once it is locked."""
    service = make_service(LOGIN_CAPTCHA="never")
    api = service.api
    service.register_user()
    spellings = ["alice", "ALICE", " Alice@Example.COM ", "ａｌｉｃｅ", "alice@ｅｘａｍｐｌｅ.com"]
    answers = [api_login(api, name, "not the password").status_code for name in spellings]
    assert answers == [401, 401, 401, 401, 423]
    assert api_login(api, "alice").status_code == 423


# --- confusion ----------------------------------------------------------------------------------

def test_duplicate_json_keys_and_query_strings_smuggle_nothing(api, register_user):
    """Attack: duplicate keys (validated one, used another?), a list behind a string, and
    credentials in the query string of a JSON endpoint. HELD: one parser, the last key is the
    value checked and used; query strings never fill body fields."""
    register_user()

    def raw(body, query=""):
        return api.client.post(f"/api/v1/sessions{query}", data=body, content_type="application/json")

    assert raw('{"login": "alice", "password": "correct horse battery", "password": "wrong one!"}') \
        .status_code == 401
    assert raw('{"login": "alice", "password": "wrong one!", "password": "correct horse battery"}') \
        .status_code == 200
    smuggled = raw('{"login": "alice", "password": "correct horse battery", "password": ["x"]}')
    assert smuggled.status_code == 400 and "password" in smuggled.get_json()["error"]["fields"]
    query = raw("{}", "?login=alice&password=correct+horse+battery")
    assert query.status_code == 400 and set(query.get_json()["error"]["fields"]) == {"login", "password"}


def test_look_alike_usernames_cannot_shadow_an_account(api, register_user):
    """Attack: register a name that looks like an existing one (full-width, upper case,
    Cyrillic 'а', Kelvin sign) to impersonate it. HELD: width and case fold onto the taken
    name (409); letters outside a-z and 0-9 are refused (422)."""
    register_user()
    for name in ("ＡＬＩＣＥ", "Alice", "ａｌｉｃｅ"):
        answer = api.register(email="mallory@example.com", username=name)
        assert answer.status_code == 409, (name, answer.get_json())
    for name in ("аlice", "alice\u200b", "al ice"):
        answer = api.register(email="mallory@example.com", username=name)
        assert answer.status_code == 422, (name, answer.get_json())
    kelvin = api.register(email="mallory@example.com", username="\u212aate")  # NFKC: "kate"
    assert kelvin.status_code == 202
