"""Request-rate limits (Flask-Limiter) shared by the pages and the API.

Each is one bucket per client IP however many routes use it, so the HTML and the JSON
doors to the same thing can't be used to double an attacker's budget.
"""

from flask import current_app, request
from flask_limiter.util import get_qualified_name

from .extensions import limiter

login_attempts = limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], scope="login",
                                      methods=["POST"])
captcha_images = limiter.shared_limit(lambda: current_app.config["CAPTCHA_IMAGE_LIMIT"], scope="captcha")


@limiter.request_filter
def _no_limit_of_ours():
    """Flask-Limiter resolves its limits on every request, a tenth of a page's CPU; only the
    endpoints that carry one of the limits above (or any, when default or application limits
    are configured) need that. The rest skip it before anything is resolved."""
    limited = current_app.extensions.get("authsvc.limited_endpoints")
    if limited is None:
        limited = current_app.extensions["authsvc.limited_endpoints"] = _limited_endpoints()
    return limited is not ALL and request.endpoint not in limited


ALL = object()


def _limited_endpoints():
    config = current_app.config
    decorated = getattr(limiter.limit_manager, "_decorated_limits", None)
    if decorated is None or config.get("RATELIMIT_DEFAULT") or config.get("RATELIMIT_APPLICATION"):
        return ALL  # not knowable here: let Flask-Limiter look at every request
    return frozenset(endpoint for endpoint, view in current_app.view_functions.items()
                     if get_qualified_name(view) in decorated)
