"""An anonymous visitor costs no Redis write (issue 16): the pages' CSRF token is derived from
the session cookie's random id, so a session is stored only once it holds something (a sign-in,
a language choice, a pending step). The forms keep working, and a forged token is refused."""

import re

from .support import csrf_from
from .test_sessions_web import sign_in, signed_in

READS = {"get", "mget", "exists", "ttl", "pttl", "hget", "hgetall", "hmget", "zcard", "zscore",
         "zrange", "lrange", "llen", "scard", "smembers", "ping", "info", "config", "type", "strlen",
         "hlen", "sismember", "client", "hello", "command", "select"}


def redis_writes(redis, action):
    """The write commands Redis served while `action` ran (INFO commandstats)."""
    redis.config_resetstat()
    action()
    stats = redis.info("commandstats")
    return {name.removeprefix("cmdstat_").split("|")[0]: value["calls"] for name, value in stats.items()
            if name.removeprefix("cmdstat_").split("|")[0] not in READS}


def test_anonymous_pages_write_nothing_to_redis(app, browser):
    redis = app.extensions["authsvc.redis"]
    for path in ("/login", "/login", "/register", "/reset", "/login/code", "/"):
        writes = redis_writes(redis, lambda: browser.get(path))
        assert writes == {"config": 0} or not writes, f"GET {path} wrote {writes}"
    assert not list(redis.scan_iter("authsvc:sess:*"))


def test_the_form_of_an_unstored_session_still_signs_in(app, browser, register_user):
    register_user()
    redis = app.extensions["authsvc.redis"]
    browser.get("/login")
    assert not list(redis.scan_iter("authsvc:sess:*"))
    response = sign_in(browser)
    assert response.status_code == 302 and signed_in(browser)
    assert len(list(redis.scan_iter("authsvc:sess:*"))) == 1  # stored once it held the sign-in


def test_a_token_from_another_visitor_is_refused(app, client, register_user):
    register_user()
    other = app.test_client()
    token = csrf_from(other.get("/login").get_data(as_text=True))
    client.get("/login")  # a cookie of its own
    forged = client.post("/login", data={"login": "alice", "password": "correct horse battery",
                                         "csrf_token": token})
    assert forged.status_code == 400
    assert client.get("/account").status_code == 302


def test_what_a_language_switch_carries_is_what_first_stores_the_session(app, client):
    redis = app.extensions["authsvc.redis"]
    page = client.get("/login").get_data(as_text=True)
    client.post("/lang/en", data={"csrf_token": csrf_from(page), "next": "/login"})
    assert not list(redis.scan_iter("authsvc:sess:*"))  # the language is a cookie of its own
    client.post("/lang/zh", data={"csrf_token": csrf_from(page), "next": "/login", "carry-login": "alice"})
    assert len(list(redis.scan_iter("authsvc:sess:*"))) == 1
    assert re.search(r'name="login"[^>]*value="alice"', client.get("/login").get_data(as_text=True))
