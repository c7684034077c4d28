"""Rotating SECRET_KEY (docs/operations.md): with the old key in SECRET_KEY_FALLBACKS and the
factor key ring naming it, passwords, authenticator apps and mail queued before the switch keep
working; each password is re-hashed under the new key at its next sign-in, so the old key can
then go. Without the fallback every password would stop matching: the first test shows why the
procedure exists."""

import time

import pyotp

from authsvc.extensions import db
from authsvc.models import User

from .support import Mailbox
from .test_totp import Clock, enrol

OLD, NEW = "old-secret-" + "o" * 40, "new-secret-" + "n" * 40
PASSWORD = "correct horse battery"
SETTINGS = dict(CAPTCHA_ENABLED=False, RESEND_COOLDOWN=0)


def sign_in(app):
    return app.test_client().post("/api/v1/sessions", json={"login": "alice", "password": PASSWORD})


def stored_hash(app):
    with app.app_context():
        return db.session.execute(db.select(User.password_hash).filter_by(username="alice")).scalar_one()


def test_a_new_key_alone_locks_every_password_out(make_service):
    before = make_service(SECRET_KEY=OLD, **SETTINGS)
    before.register_user()
    rotated = make_service(SECRET_KEY=NEW, **SETTINGS)  # the same database and Redis, a new key
    assert sign_in(rotated.app).status_code == 401


def test_rotation_keeps_passwords_apps_and_queued_mail(make_service, smtp_server, monkeypatch):
    clock = Clock(monkeypatch)
    before = make_service(SECRET_KEY=OLD, **SETTINGS)
    _user, token = before.register_user()
    secret, _answer = enrol(before.api, token, now=time.time() - 120, clock=clock)
    old_hash = stored_hash(before.app)
    before.mailbox.deliver_all()
    queued = before.api.post("/password-resets", json={"email": "alice@example.com"})
    assert queued.status_code == 202  # queued, sealed under the old key, not yet delivered

    rotating = make_service(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=OLD, FACTOR_KEYS=f"k1={NEW},k0={OLD}",
                            **SETTINGS)
    mailbox = Mailbox(rotating.app, smtp_server)
    outcomes = mailbox.deliver_all()
    assert "sent" in str(outcomes), outcomes  # the worker under the new key opened the old job
    assert "重置" in mailbox.last("alice@example.com")["Subject"]
    started = sign_in(rotating.app)
    assert started.status_code == 202 and started.get_json()["second_step"] == "totp"
    done = rotating.app.test_client().post("/api/v1/sessions/second-factor", json={
        "challenge": started.get_json()["challenge"], "totp": pyotp.TOTP(secret).now()})
    assert done.status_code == 200, done.get_json()
    assert stored_hash(rotating.app) != old_hash  # re-hashed under the new key

    done_rotating = make_service(SECRET_KEY=NEW, FACTOR_KEYS=f"k1={NEW},k0={OLD}", **SETTINGS)
    assert sign_in(done_rotating.app).status_code == 202  # the old key is no longer needed


def test_a_wrong_password_is_still_refused_during_rotation(make_service):
    before = make_service(SECRET_KEY=OLD, **SETTINGS)
    before.register_user()
    rotating = make_service(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=OLD, **SETTINGS)
    wrong = rotating.app.test_client().post("/api/v1/sessions", json={"login": "alice", "password": "not it at all"})
    assert wrong.status_code == 401
    assert sign_in(rotating.app).status_code == 200


def test_an_undo_link_mailed_before_the_rotation_still_opens(make_service):
    from .test_email_undo import _change

    before = make_service(SECRET_KEY=OLD, **SETTINGS)
    _user, token = before.register_user()
    _notice, path = _change(before.api, before.mailbox, token, "mallory@example.com")
    rotating = make_service(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=OLD, **SETTINGS)
    page = rotating.app.test_client().get(path)
    assert page.status_code == 200 and "alice@example.com" in page.get_data(as_text=True)
    rotated = make_service(SECRET_KEY=NEW, **SETTINGS)  # without the fallback the link is refused
    assert "alice@example.com" not in rotated.app.test_client().get(path).get_data(as_text=True)
