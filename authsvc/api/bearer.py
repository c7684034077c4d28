"""Bearer-token authentication for API views."""

import time
from functools import wraps

from flask import current_app, g, request

from ..errors import Forbidden, ReauthenticationRequired, Unauthorized
from ..services import factors, tokens


def bearer_token():
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def token_required(view):
    """Resolve the bearer token into g.user and g.token (its metadata) or answer 401."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        token = bearer_token()
        if not token:
            raise Unauthorized()
        g.user, g.token = tokens.resolve_api_token(token)
        return view(*args, **kwargs)
    wrapper.auth = "user"  # what the OpenAPI document and the answer check read (declare.py)
    return wrapper


def require_recent_password():
    """A token from an emailed code alone must confirm the password before sensitive actions (a
    password or passkey sign-in counts as confirmed)."""
    password_at = g.token.get("password_at") or 0
    if g.token.get("method") not in ("password", "passkey") and \
            time.time() - password_at > current_app.config["REAUTH_SECONDS"]:
        raise ReauthenticationRequired()


def recent_password_required(view):
    """token_required, and for a code-only token a recent password (before the body is read)."""
    @wraps(view)
    @token_required
    def wrapper(*args, **kwargs):
        require_recent_password()
        return view(*args, **kwargs)
    wrapper.auth = "recent"
    return wrapper


def admin_required(view):
    """401 without a token, 403 for non-admins, reauthentication for code-only tokens."""
    @wraps(view)
    @token_required
    def wrapper(*args, **kwargs):
        if not g.user.is_admin:
            raise Forbidden()
        require_recent_password()
        factors.require_for_admin(g.user)
        return view(*args, **kwargs)
    wrapper.auth = "admin"
    return wrapper
