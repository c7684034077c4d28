"""A sign-in that read the account just before its sessions were ended (a deactivation, a
password change or reset) must not leave a session behind: the pages would refuse it (they
compare the epoch in SQL), but forward-auth answers from the record alone. The interleaving
is made step by step with the real session store, Redis and database: the sign-in request
builds its session, the deactivation commits in another context, then the sign-in's answer
saves its session."""

import flask
import pytest

from authsvc import keys
from authsvc.crypto import token_hash
from authsvc.extensions import after_commit, db
from authsvc.models import User
from authsvc.services import tokens
from authsvc.web.auth_helpers import start_browser_session

from .test_sessions_web import PASSWORD
from .test_forward_auth import APP, fwd_service


def signed_in_session(service, meanwhile=lambda user_id: None):
    """A sign-in of alice whose answer is saved after `meanwhile` ran; returns its cookie."""
    app = service.app
    with app.test_request_context("/login", method="POST", base_url="http://accounts.example.com"):
        alice = db.session.execute(db.select(User).filter_by(username="alice")).scalar_one()
        start_browser_session(alice, "password")  # the sign-in has read the account...
        signing_in = flask.session._get_current_object()
        with app.app_context():  # ...when something else commits (its own database session)
            meanwhile(alice.id)
        app.session_interface.save_session(app, signing_in, app.response_class())
        return signing_in.sid


def verify(service, sid):
    client = service.app.test_client(use_cookies=False)
    name = service.app.config["SESSION_COOKIE_NAME"]
    return client.get("/auth/verify", base_url="http://accounts.example.com",
                      headers={"X-Original-URL": APP, "Cookie": f"{name}={sid}"})


def deactivate(user_id):
    user = db.session.get(User, user_id)
    user.active = False
    tokens.end_all(user)
    db.session.commit()


def change_password_elsewhere(user_id):
    user = db.session.get(User, user_id)
    tokens.end_all(user)  # what a password change or reset does to every other session
    db.session.commit()


@pytest.fixture
def service(make_service):
    service = fwd_service(make_service)
    service.register_user()
    return service


def test_an_undisturbed_sign_in_is_admitted(service):
    assert verify(service, signed_in_session(service)).status_code == 200


@pytest.mark.parametrize("meanwhile", [deactivate, change_password_elsewhere])
def test_a_sign_in_that_raced_the_end_of_every_session_leaves_none(service, meanwhile):
    sid = signed_in_session(service, meanwhile)
    redis = service.app.extensions["authsvc.redis"]
    assert not redis.exists(keys.session(token_hash(sid)))
    assert verify(service, sid).status_code == 401


def test_a_sign_in_after_the_end_is_admitted(service):
    signed_in_session(service, change_password_elsewhere)
    assert verify(service, signed_in_session(service)).status_code == 200


def ended_twice_sealed_out_of_order(app, user_id):
    """Two ends of every session of one account (a password change and an admin's action at
    the same moment): the first commits, the second commits after it, and the first one's
    seal reaches Redis last (its thread was descheduled between its commit and its SET). The
    hold is a real after-commit action registered before end_all's, so it runs first."""
    with app.app_context():
        first = db.session.get(User, user_id)

        def the_second_end_commits_and_seals_meanwhile():
            with app.app_context():  # its own database session, as another request's
                change_password_elsewhere(user_id)

        after_commit(the_second_end_commits_and_seals_meanwhile)
        tokens.end_all(first)
        db.session.commit()


def test_two_ends_whose_seals_arrive_out_of_order_lock_nobody_out(service):
    """The account's epoch is the second end's; a seal left at the first end's would refuse
    every session saved from then on (each sign-in answered 302 without a cookie, forward-auth
    401) for as long as the seal lives (days): found in the attacker's pass, failed before."""
    redis = service.app.extensions["authsvc.redis"]
    with service.app.app_context():
        user_id = db.session.execute(db.select(User.id).filter_by(username="alice")).scalar_one()
    ended_twice_sealed_out_of_order(service.app, user_id)
    with service.app.app_context():
        committed = db.session.get(User, user_id).auth_epoch
    assert redis.get(keys.user_epoch(user_id)).decode() == committed
    assert verify(service, signed_in_session(service)).status_code == 200
    browser = service.browser
    assert browser.submit("/login", {"login": "alice", "password": PASSWORD}).status_code == 302
    assert browser.get("/account").status_code == 200


def test_a_seal_that_a_failover_set_back_locks_nobody_out(service):
    """Replication is asynchronous: a failover right after an end of every session may promote
    a replica that still holds the seal of the end before (set here by hand: exactly what the
    promoted replica holds). Every session saved from then on was refused for as long as that
    seal lived (days); now a save whose epoch the database confirms corrects the seal."""
    redis = service.app.extensions["authsvc.redis"]
    with service.app.app_context():
        user_id = db.session.execute(db.select(User.id).filter_by(username="alice")).scalar_one()
        change_password_elsewhere(user_id)
        older = redis.get(keys.user_epoch(user_id))
        change_password_elsewhere(user_id)
        committed = db.session.get(User, user_id).auth_epoch
    redis.set(keys.user_epoch(user_id), older, keepttl=True)  # the failover lost the newest seal
    browser = service.browser
    assert browser.submit("/login", {"login": "alice", "password": PASSWORD}).status_code == 302
    assert browser.get("/account").status_code == 200
    assert redis.get(keys.user_epoch(user_id)).decode() == committed
    assert verify(service, signed_in_session(service)).status_code == 200
    # a sign-in that really read the ended epoch is still refused
    assert test_a_sign_in_that_raced_the_end_of_every_session_leaves_none(service, change_password_elsewhere) is None
