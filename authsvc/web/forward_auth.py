"""GET /auth/verify: the reverse proxy's sub-request before each request to a protected app.

200 with Remote-User, Remote-Name, Remote-Email and Remote-Groups for a session the host's
rule admits; 401 (sign in, or confirm the password) with a Location naming authsvc's sign-in
page and the way back; 403 when signed in but the host is not for this account (or no rule
names the host). With ?redirect=1 (Traefik, Caddy: they pass a refusal on to the browser as
it is) the 401 is a 302 to that page instead. GET and HEAD only: nginx's auth_request
sub-request, Traefik and Caddy all ask with GET, whatever the original method was.
"""

from flask import Blueprint, g, request, session

from ..extensions import limiter
from ..services import forward_auth

bp = Blueprint("forward_auth", __name__)


@bp.get("/auth/verify")
@limiter.exempt  # one per request to every protected app: a limit here would be a Redis write each
# (ratelimits.py skips Flask-Limiter's check altogether for endpoints without a limit)
def verify():
    url = forward_auth.original_url(request.headers)
    answer = forward_auth.check(session, url)
    headers = {"Cache-Control": "no-store", **answer.headers}
    g.quiet_access_log = answer.status == 200  # one per request to every app: the proxy logs those
    if answer.status == 401 and answer.login_url:
        headers["Location"] = answer.login_url
        if request.args.get("redirect") == "1":
            return "", 302, headers
    return ("" if answer.status == 200 else answer.reason + "\n"), answer.status, headers


def keep_claims_true(response):
    """A page that loaded the signed-in account refreshes what the session tells the proxy
    (an account changed in another request, an older session without `fwd`). Free: it uses
    the account this request already loaded, and writes only when something changed.
    Registered by hooks.py to run before the commit (which would expire the loaded account)."""
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False) and "_user_id" in session:
        claims = forward_auth.claims(user)
        if session.get("fwd") != claims:
            session["fwd"] = claims
    return response
