"""Invite-code guessing raced on a gunicorn with REGISTRATION_MODE=invite: one IP gets at
most INVITE_FAILURES_PER_HOUR (20) wrong-invite answers however many guesses arrive at once."""

import pytest

from authsvc.extensions import db
from authsvc.services import invites

from .harness import fire, report, tally

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(start_gunicorn):
    return start_gunicorn(REGISTRATION_MODE="invite")


def _wrong_invite(outcome):
    return (outcome.status in (400, 422) and outcome.code == "invalid_input"
            and "invite_code" in outcome.body["error"].get("fields", {}))


def test_sanity_registration_with_a_real_invite(server, state, client_for):
    with state.app.app_context():
        code = invites.create_invites(count=1, uses=3)[0].code
        db.session.remove()
    client = client_for(server)
    missing = client.post("/registrations", {"email": "carol@example.com", "username": "carol",
                                             "password": "violet harbour lantern 7", **client.captcha()})
    assert missing.status == 422 and "invite_code" in missing.body["error"]["fields"], missing
    started = client.post("/registrations", {"email": "carol@example.com", "username": "carol",
                                             "password": "violet harbour lantern 7", "invite_code": code,
                                             **client.captcha()})
    assert started.status == 202, started
    body = {"email": "carol@example.com", "code": state.mailbox.code("carol@example.com")}
    if "registration_id" in started.body:
        body["registration_id"] = started.body["registration_id"]
    confirmed = client.post("/registrations/confirm", body)
    assert confirmed.status == 201, confirmed


def test_parallel_invite_guesses_from_one_ip_stop_at_twenty(server, state, client_for):
    def prepare(i, c):
        return c.captcha()

    def send(i, c, cap):
        return c.post("/registrations", {"email": f"guesser{i}@example.com", "username": f"guesser{i}",
                                         "password": f"guesser passphrase {i}",
                                         "invite_code": f"WRNG-GUES-{i:04d}-ABCD", **cap})

    outcomes = fire(server.url, 32, prepare, send)
    counts = tally(outcomes)
    message = report("invite guesses", counts)
    wrong = [o for o in outcomes if _wrong_invite(o)]
    limited = [o for o in outcomes if o.label == "429 rate_limited"]
    assert len(wrong) + len(limited) == 32, message
    assert 1 <= len(wrong) <= 20, message
    for outcome in limited:
        assert int(outcome.headers.get("Retry-After", "0")) >= 1, outcome.headers
