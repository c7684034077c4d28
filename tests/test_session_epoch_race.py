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
from authsvc.extensions import db
from authsvc.models import User
from authsvc.services import tokens
from authsvc.web.auth_helpers import start_browser_session

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
