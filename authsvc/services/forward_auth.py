"""Forward-auth: a reverse proxy asks "who is this, and may they in?" for every request to a
protected app (nginx auth_request, Traefik forwardAuth, Caddy forward_auth).

The answer comes from the browser session alone: its Redis record, which the session store
has already read (one GET), holds what the answer needs under `fwd` (the account's id,
username, email and admin flag, written at sign-in and refreshed whenever authsvc loads the
account) and `strong_at` (the last password entry or second step). No SQL is run.

Keeping those true: deactivation, password change or reset and the undo of an email change
delete every session record of the account (tokens.end_all); an email change or a promotion
rewrites the `fwd` part of each record (refresh_claims); a record without `fwd` is refused.
"""

import json
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from flask import current_app

from .. import keys
from ..extensions import redis_client

USERS, ADMINS = "users", "admins"


@dataclass
class Answer:
    status: int  # 200, 401 (sign in, or confirm the password) or 403 (not for this account / host)
    reason: str
    headers: dict = field(default_factory=dict)
    login_url: str | None = None  # where a 401 sends the browser


def policy():
    return current_app.config["FORWARD_AUTH"]


def claims(user):
    """What a session of `user` carries for the proxy's answer."""
    return {"uid": str(user.id), "name": user.username, "email": user.email, "admin": bool(user.is_admin)}


def is_strong(method, steps):
    """A sign-in that involved the password or a passkey, or passed a second step (not an
    emailed code alone)."""
    return method in ("password", "passkey") or steps > 1


def original_url(headers):
    """The URL the browser asked the proxy for, from the headers each proxy sends:
    X-Original-URL (nginx, as deploy/nginx/forward-auth.conf sets it), else
    X-Forwarded-Proto + X-Forwarded-Host + X-Forwarded-Uri (Traefik, Caddy)."""
    url = headers.get("X-Original-URL", "").strip()
    if url:
        return url
    host = headers.get("X-Forwarded-Host", "").split(",")[0].strip()
    if not host:
        return ""
    proto = headers.get("X-Forwarded-Proto", "https").split(",")[0].strip().lower()
    uri = headers.get("X-Forwarded-Uri", "/").strip() or "/"
    return f"{proto if proto in ('http', 'https') else 'https'}://{host}{uri if uri.startswith('/') else '/' + uri}"


def _hostname(url):
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def login_url(target):
    """authsvc's sign-in page, coming back to `target` afterwards."""
    base = current_app.config["PUBLIC_URL"].rstrip("/") + "/login"
    return f"{base}?next={quote(target, safe='')}" if target else base


def check(data, url, now=None):
    """The answer for a session's data (the stored record's `data`) and the original URL."""
    now = time.time() if now is None else now
    rule = policy().rule_for(_hostname(url))
    if rule is None:
        return Answer(403, "no_rule")
    uid = str(data.get("_user_id") or "").partition(".")[0]
    fwd = data.get("fwd") or {}
    if not uid or fwd.get("uid") != uid:
        return Answer(401, "signed_out", login_url=login_url(url))
    if rule.admin and not fwd.get("admin"):
        return Answer(403, "admin_only")
    if rule.fresh_minutes and now - float(data.get("strong_at") or 0) > rule.fresh_minutes * 60:
        return Answer(401, "step_due", login_url=login_url(url))
    groups = f"{USERS},{ADMINS}" if fwd.get("admin") else USERS
    return Answer(200, "ok", {"Remote-User": fwd["name"], "Remote-Name": fwd["name"],
                              "Remote-Email": header_value(fwd.get("email") or ""), "Remote-Groups": groups})


def header_value(text):
    """A header value from any text: as is when ASCII, else its UTF-8 bytes (what a client
    reading the header as UTF-8 gets back; WSGI carries header values as Latin-1)."""
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8").decode("latin-1")


def return_allowed(url):
    """Whether a sign-in may end at this absolute URL (a protected host, see forward_rules)."""
    return policy().allows_return(url)


def return_host(url):
    """The app host a sign-in will send the user back to (shown on the page), or None."""
    return _hostname(url) if url and return_allowed(url) else None


def confirmation_due(url, data, now=None):
    """A signed-in session whose way back to `url` needs a fresh password or second step:
    the sign-in page then asks for the password instead of bouncing back (a loop)."""
    if not return_allowed(url):
        return False
    rule = policy().rule_for(_hostname(url))
    now = time.time() if now is None else now
    return bool(rule and rule.fresh_minutes
                and now - float(data.get("strong_at") or 0) > rule.fresh_minutes * 60)


def refresh_claims(user):
    """Rewrite `fwd` in every browser session of the account (after an email change or a
    promotion): the proxy's next answer names the new address or group at once."""
    index = keys.user_sessions(user.id)
    digests = [d.decode() for d, kind in redis_client.hgetall(index).items() if kind == b"web"]
    if not digests:
        return 0
    records = redis_client.mget([keys.session(d) for d in digests])
    fresh = claims(user)
    pipe = redis_client.pipeline(transaction=False)
    for digest, raw in zip(digests, records, strict=True):
        if raw is None:
            continue
        record = json.loads(raw)
        data = record.get("data") or {}
        if str(data.get("_user_id") or "").partition(".")[0] != fresh["uid"]:
            continue
        data["fwd"] = fresh
        record["data"] = data
        pipe.set(keys.session(digest), json.dumps(record, default=str), keepttl=True, xx=True)
    return sum(1 for saved in pipe.execute() if saved)
