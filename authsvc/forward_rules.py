"""Forward-auth settings, read and checked at start (config.finalise), then matched per request.

FORWARD_AUTH_DOMAINS  the hosts a sign-in may send the user back to (`next`): exact names
                      ("app.example.com") or a leading dot for every subdomain (".example.com").
FORWARD_AUTH_RULES    what each protected host demands, entries separated by ";" or newlines:
                          HOST=LEVEL[,fresh=MINUTES]
                      HOST is an exact name, ".example.com" (any subdomain) or "*" (any other
                      host); LEVEL is `user` (any signed-in account) or `admin`; fresh=N asks for
                      a password or second step within the last N minutes. The most specific
                      entry wins (exact, then the longest suffix, then "*"); a host no entry
                      names is refused.
SESSION_COOKIE_DOMAIN the cookie's Domain: it must cover PUBLIC_URL's host and every domain.

Every mistake stops the start with a message naming the entry.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

LEVELS = ("user", "admin")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST_RE = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}")


@dataclass(frozen=True)
class Rule:
    pattern: str
    level: str = "user"
    fresh_minutes: int | None = None

    @property
    def admin(self):
        return self.level == "admin"


@dataclass(frozen=True)
class Policy:
    domains: tuple = ()
    rules: tuple = ()
    https_only: bool = True

    @property
    def enabled(self):
        return bool(self.rules)

    def rule_for(self, host):
        """The rule for a host name (no port), or None: refused."""
        host = (host or "").lower().rstrip(".")
        if not host:
            return None  # no original URL (or none a proxy would send): not even "*" matches
        best = None
        for rule in self.rules:
            if rule.pattern == host:
                return rule
            if rule.pattern.startswith(".") and host.endswith(rule.pattern) and \
                    (best is None or best.pattern == "*" or len(rule.pattern) > len(best.pattern)):
                best = rule
            elif rule.pattern == "*" and best is None:
                best = rule
        return best

    def csp_sources(self):
        """The domains as CSP sources (any port), for form-action: a sign-in form's redirect
        back to an app is a form navigation the browser checks against it."""
        schemes = ("https",) if self.https_only else ("http", "https")
        return [f"{scheme}://{'*' + d if d.startswith('.') else d}:*" for d in self.domains for scheme in schemes]

    def allows_return(self, url):
        """Whether a sign-in may end at this absolute URL: http(s) (https only in production),
        no user-info part, a host FORWARD_AUTH_DOMAINS names, nothing a browser reads oddly."""
        if not url or not self.domains or len(url) > 2048:
            return False
        if any(c in url for c in "\\\r\n\t ") or any(ord(c) < 32 or ord(c) == 127 for c in url):
            return False
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            return False
        if parts.scheme not in (("https",) if self.https_only else ("http", "https")):
            return False
        if "@" in parts.netloc or not parts.hostname:
            return False
        return covered(parts.hostname, self.domains)


def cookie_name(config):
    """__Host- forbids a Domain attribute; the forward-auth hosts need one (SESSION_COOKIE_DOMAIN)."""
    if not config["SESSION_COOKIE_SECURE"]:
        return "authsvc_session"
    return "__Secure-authsvc_session" if config.get("SESSION_COOKIE_DOMAIN") else "__Host-authsvc_session"


def covered(host, domains):
    """Whether `host` is one of `domains` (exact, or under a ".suffix" entry)."""
    host = host.lower().rstrip(".")
    return any(host == d or (d.startswith(".") and host.endswith(d)) for d in domains)


def _host(entry, setting, allow_dot=True):
    name = entry.strip().lower()
    bare = name[1:] if allow_dot and name.startswith(".") else name
    if not HOST_RE.fullmatch(bare) or "." not in bare:
        raise RuntimeError(f"{setting}: {entry.strip()!r} is not a host name "
                           f"(e.g. app.example.com{', or .example.com for every subdomain' if allow_dot else ''})")
    return name


def _rule(entry):
    host, sep, spec = entry.partition("=")
    if not sep:
        raise RuntimeError(f"FORWARD_AUTH_RULES: {entry.strip()!r} must be HOST=user or HOST=admin "
                           "(optionally ,fresh=MINUTES)")
    pattern = "*" if host.strip() == "*" else _host(host, "FORWARD_AUTH_RULES")
    level, *options = [part.strip().lower() for part in spec.split(",")]
    if level not in LEVELS:
        raise RuntimeError(f"FORWARD_AUTH_RULES: {entry.strip()!r}: the level must be user or admin")
    fresh = None
    for option in options:
        name, _eq, value = option.partition("=")
        if name != "fresh" or not value.isdigit() or not 1 <= int(value) <= 1440 or fresh is not None:
            raise RuntimeError(f"FORWARD_AUTH_RULES: {entry.strip()!r}: the only option is fresh=MINUTES "
                               "(1-1440), once")
        fresh = int(value)
    return Rule(pattern, level, fresh)


def parse(config, env):
    """The Policy from the three settings; raises RuntimeError with the reason."""
    domains = tuple(_host(d, "FORWARD_AUTH_DOMAINS") for d in (config.get("FORWARD_AUTH_DOMAINS") or "").split(",")
                    if d.strip())
    entries = [e for e in re.split(r"[;\n]", config.get("FORWARD_AUTH_RULES") or "") if e.strip()]
    rules = tuple(_rule(e) for e in entries)
    patterns = [r.pattern for r in rules]
    if len(set(patterns)) != len(patterns):
        raise RuntimeError("FORWARD_AUTH_RULES names a host twice")
    for rule in rules:
        if rule.pattern != "*" and not _rule_reachable(rule.pattern, domains):
            raise RuntimeError(f"FORWARD_AUTH_RULES: {rule.pattern} is not in FORWARD_AUTH_DOMAINS, so a sign-in "
                               "could not send its users back there; add it")
    cookie_domain = (config.get("SESSION_COOKIE_DOMAIN") or "").strip().lower().lstrip(".")
    if cookie_domain:
        cookie_domain = _host(cookie_domain, "SESSION_COOKIE_DOMAIN", allow_dot=False)
        public_host = (urlsplit(config.get("PUBLIC_URL") or "").hostname or "").lower()
        for name in (public_host, *domains):
            bare = name.lstrip(".")
            if not (bare == cookie_domain or bare.endswith("." + cookie_domain)):
                raise RuntimeError(f"SESSION_COOKIE_DOMAIN={cookie_domain} does not cover {name or 'PUBLIC_URL'}: "
                                   "the session cookie would not reach it")
        config["SESSION_COOKIE_DOMAIN"] = cookie_domain
    elif domains:
        raise RuntimeError("FORWARD_AUTH_DOMAINS needs SESSION_COOKIE_DOMAIN (a parent domain of PUBLIC_URL's "
                           "host and of those hosts): without it the session cookie never reaches them")
    return Policy(domains, rules, https_only=env == "production")


def _rule_reachable(pattern, domains):
    if pattern.startswith("."):
        return any(d == pattern or (d.startswith(".") and pattern.endswith(d)) for d in domains)
    return covered(pattern, domains)
