"""Who is asking: client address, user agent and a readable device name."""

import ipaddress
from functools import lru_cache

from flask import current_app, has_request_context, request

UA_MAX = 512  # longer User-Agent strings are cut before storage and parsing


def client_ip():
    """The client's address; ProxyFix has already applied PROXY_FIX_X_FOR when configured."""
    if not has_request_context():
        return None
    return request.remote_addr or "0.0.0.0"


def client_net():
    """The client as every per-IP limit and counter sees it (audit and logs keep client_ip).

    An IPv6 client is its /IPV6_LIMIT_PREFIX network (default /64: one home line holds 2^64
    addresses), an IPv4-mapped IPv6 address is its IPv4 address, IPv4 is itself.
    """
    ip = client_ip()
    if ip is None:
        return None
    return limit_key(ip, current_app.config["IPV6_LIMIT_PREFIX"])


@lru_cache(maxsize=4096)
def limit_key(ip, prefix=64):
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    return str(address)


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
