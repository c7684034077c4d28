"""The old address's undo link after an email change (issue 14).

Before, the notice to the old address said "reset your password right away" with a link to
/reset — whose code goes to the account's new address, perhaps the intruder's. Now it carries
a signed, single-use undo link (EMAIL_UNDO_DAYS): a page with a button; the POST restores the
old address, ends every session and token, voids the password and mails a reset code to the
restored address.
"""

import re

from authsvc import keys
from authsvc.extensions import db
from authsvc.models import AuditEvent, User

from .support import Browser, csrf_from, html_of, text_of

PASSWORD = "correct horse battery"
NEW = "a brand new passphrase"
LINK = re.compile(r"https://accounts\.example\.com(/email/undo/[A-Za-z0-9_.\-]+)")


def _change(api, mailbox, token, new_email, old_email="alice@example.com", password=PASSWORD):
    assert api.post("/me/email", json={"password": password, "new_email": new_email}, token=token).status_code == 202
    done = api.post("/me/email/confirm", json={"code": mailbox.code(new_email)}, token=token)
    assert done.status_code == 200, done.get_json()
    notice = mailbox.last(old_email)
    return notice, LINK.search(text_of(notice)).group(1)


def _undo(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def test_the_notice_offers_an_undo_link_not_a_reset_that_would_reach_the_new_address(api, register_user,
                                                                                      mailbox):
    _user, token = register_user()
    notice, path = _change(api, mailbox, token, "mallory@example.com")
    text, html = text_of(notice), html_of(notice)
    assert "/reset" not in text and "/reset" not in html
    assert path in text and path in html
    assert "7 天" in text and not re.search(r"\b\d{6}\b", text)


def test_undo_restores_the_address_ends_everything_and_asks_for_a_new_password(app, client, api,
                                                                               register_user, mailbox):
    _user, token = register_user()
    other_token = api.post("/sessions", json={"login": "alice", "password": PASSWORD}).get_json()["token"]
    _notice, path = _change(api, mailbox, token, "mallory@example.com")
    page = client.get(path).get_data(as_text=True)
    assert "alice@example.com" in page and "m***@example.com" in page  # what will happen, to what
    assert api.get("/me", token=token).status_code == 200  # a GET changes nothing

    done = _undo(client, path)
    assert done.status_code == 302 and done.headers["Location"].endswith("/reset/verify")
    for dead in (token, other_token):
        assert api.get("/me", token=dead).status_code == 401  # every token ended (epoch)
    assert api.post("/sessions", json={"login": "alice", "password": PASSWORD}).status_code == 401
    with app.app_context():
        alice = db.session.execute(db.select(User).filter_by(username="alice")).scalar_one()
        assert alice.email == "alice@example.com"
        [row] = db.session.execute(db.select(AuditEvent).filter_by(event="email.change_undone")).scalars()
        assert row.user_id == alice.id
    # the reset page for the restored address, with the code mailed there
    code = mailbox.code("alice@example.com")
    verify = client.get("/reset/verify").get_data(as_text=True)
    assert "a***@example.com" in verify
    reset = client.post("/reset/verify", data={"code": code, "new_password": NEW, "confirm": NEW,
                                               "csrf_token": csrf_from(verify)})
    assert reset.status_code == 302
    assert api.post("/sessions", json={"login": "alice@example.com", "password": NEW}).status_code == 200
    # single use
    again = client.get(path)
    assert again.status_code == 400 and "已使用" in again.get_data(as_text=True)


def test_the_link_is_signed_stored_for_seven_days_and_post_needs_csrf(app, client, api, register_user, mailbox):
    _user, token = register_user()
    _notice, path = _change(api, mailbox, token, "mallory@example.com")
    redis = app.extensions["authsvc.redis"]
    [key] = redis.keys(keys.PREFIX + "undo:email:*")
    assert 7 * 86400 - 60 < redis.ttl(key) <= 7 * 86400
    assert b"mallory" not in key and b"alice" not in key
    tampered = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    assert client.get(tampered).status_code == 400
    client.get(path)
    assert client.post(path, data={}).status_code == 400  # no CSRF token
    assert api.get("/me", token=token).status_code == 200


def test_an_old_address_taken_meanwhile_is_said_clearly_and_nothing_changes(make_service):
    service = make_service(RESEND_COOLDOWN=0)
    client, api, mailbox, register_user = (service.app.test_client(), service.api, service.mailbox,
                                           service.register_user)
    _user, token = register_user()
    _notice, path = _change(api, mailbox, token, "alice.new@example.com")
    register_user(email="alice@example.com", username="newcomer")
    page = client.get(path)
    assert page.status_code == 409
    assert "alice@example.com" in page.get_data(as_text=True) and "另一个账户" in page.get_data(as_text=True)
    assert api.get("/me", token=token).get_json()["email"] == "alice.new@example.com"


def test_undoing_one_change_voids_the_undo_links_of_later_changes(client, api, register_user, mailbox):
    """An intruder who moves the account on (A -> B -> C) holds B's undo link; once the owner
    used A's, B's must not take the account back."""
    _user, token = register_user()
    _notice, owners_link = _change(api, mailbox, token, "b@example.com")
    _notice, intruders_link = _change(api, mailbox, token, "c@example.com", old_email="b@example.com")
    assert _undo(client, owners_link).status_code == 302
    refused = client.get(intruders_link)
    assert refused.status_code == 400
    assert api.post("/sessions", json={"login": "alice@example.com", "password": PASSWORD}).status_code == 401
