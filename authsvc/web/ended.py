"""A browser whose session was ended from elsewhere (another device's "sign out", "sign out all
other sessions", a password change, an admin) is told so on its next page, instead of meeting
a bare sign-in page.

services/tokens.py leaves a marker under the ended session's hash (keys.session_ended); the
session store reads it with the record, in the same round trip (session.ended_elsewhere). The
message is flashed once: the answer carries a new cookie, whose session has no such history.
"""

from flask import Blueprint, flash, g, request, session
from flask_babel import gettext as _

bp = Blueprint("ended", __name__)


@bp.before_app_request
def say_why_signed_out():
    if not getattr(session, "ended_elsewhere", False) or request.method != "GET" \
            or request.blueprint in (None, "api", "forward_auth"):
        return  # the static files, the API and the proxy's check have no page to say it on
    session.ended_elsewhere = False
    session.regenerate()  # the ended id is not reused, even for an anonymous session
    flash(_("You were signed out because the session was ended elsewhere."), "info")
    g.said_ended_elsewhere = True


@bp.after_app_request
def one_message_is_enough(response):
    """The sign-in page the account page sends to says why; not also "please sign in first"."""
    if g.get("said_ended_elsewhere"):
        please = _("Please sign in first.")
        session["_flashes"] = [f for f in session.get("_flashes", []) if f[1] != please]
    return response
