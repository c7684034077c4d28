"""Who is asking: client address, user agent and a readable device name."""

from functools import lru_cache

from flask import has_request_context, request

UA_MAX = 512  # longer User-Agent strings are cut before storage and parsing


def client_ip():
    """The client's address; ProxyFix has already applied PROXY_FIX_X_FOR when configured."""
    if not has_request_context():
        return None
    return request.remote_addr or "0.0.0.0"


def user_agent():
    """The request's User-Agent, bounded in length."""
    if not has_request_context():
        return ""
    return (request.headers.get("User-Agent") or "")[:UA_MAX]


def wants_json():
    """True when the answer should be JSON: the API, or a client that asks only for JSON."""
    if not has_request_context():
        return False
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > \
        request.accept_mimetypes["text/html"]


@lru_cache(maxsize=2048)
def describe_device(ua_string):
    """'Chrome · Windows' from a User-Agent string; empty string when unknown."""
    if not ua_string:
        return ""
    import ua_parser  # imported lazily: its regex tables take a moment to load

    result = ua_parser.parse(ua_string[:UA_MAX])
    browser = result.user_agent.family if result.user_agent else ""
    system = result.os.family if result.os else ""
    parts = [p for p in (browser, system) if p and p != "Other"]
    return " · ".join(parts)
