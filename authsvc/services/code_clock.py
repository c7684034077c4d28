"""What every page that takes a code shows: how long the code stays valid, when a new one may
be sent, and the "Didn't get it?" facts (the sender to add to contacts, a support contact).

The figures come from Redis — the code key's own TTL and the send limits read without charging
— so the page's countdown never promises what the server would refuse; static/js/app.js only
counts them down. Codes are issued for unknown addresses too (and the send limits are charged
for them alike), so these figures say nothing about whether an account exists.
"""

from flask import current_app

from .. import config as settings
from .. import crypto, keys
from ..extensions import redis_client
from ..requestinfo import client_net
from . import mail, second_step, sendlimits
from .validation import normalize_email


def _ttl(key):
    ttl = int(redis_client.ttl(key))
    return max(0, ttl)


def clock(purpose, email, flow=None):
    """{expires_in, resend_after, sender, support} for the current code of (purpose, address).

    `flow`: a registration's own code owner (registration.code_owner); else the address's.
    """
    email = normalize_email(email)
    owner = flow or crypto.address_id(email)
    return {
        "expires_in": _ttl(keys.code(purpose, owner)),
        "life": keys.code_ttl(purpose),
        "resend_after": sendlimits.wait_before_send(email, client_net(), purpose),
        **help_facts(),
    }


def registration_clock(email, registration_id):
    from . import registration

    return clock("register", email, registration.code_owner(registration_id))


def second_step_clock(challenge):
    """The clock of a pending second step's code (none once the challenge is gone)."""
    user = second_step.challenge_user(challenge)
    if user is None:
        return dict(expires_in=0, resend_after=0, life=keys.code_ttl("second_factor"), **help_facts())
    return clock("second_factor", user.email)


def help_facts():
    """The sender address to add to contacts and the support contact (href, text) or None."""
    return {"sender": mail.sender_address(),
            "support": settings.support_link(current_app.config.get("SUPPORT_CONTACT"))}
