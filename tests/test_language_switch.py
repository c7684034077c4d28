"""The language switch returns to the page and keeps what was typed (issue 14).

Before, a page shown after a failed POST gave the switch an empty `next`: it landed on
/login and the form was gone.
"""

import re

import pytest

from .support import csrf_from

PASSWORD = "correct horse battery"


def _switch(client, html, code="en"):
    form = re.search(r'<form method="post" action="/lang/%s".*?</form>' % code, html, re.S).group(0)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    return client.post(f"/lang/{code}", data=fields), fields


@pytest.mark.parametrize("path, typed, secret", [
    ("/login", {"login": "alice", "remember": "y"}, {"password": "not the password"}),
    ("/register", {"email": "new@example.com", "username": "newbie", "invite_code": ""},
     {"password": "short", "confirm": "other"}),
    ("/login/code", {"email": "alice@example.com"}, {"captcha": "XXXX"}),
    ("/reset", {"email": "alice@example.com"}, {"captcha": "XXXX"}),
])
def test_after_a_failed_post_the_switch_returns_to_the_page_with_the_form(client, register_user, path,
                                                                          typed, secret):
    register_user()
    page = client.get(path).get_data(as_text=True)
    client.get("/captcha.png")
    failed = client.post(path, data={**typed, **secret, "csrf_token": csrf_from(page)})
    assert failed.status_code >= 400
    switched, fields = _switch(client, failed.get_data(as_text=True))
    assert switched.status_code == 302 and switched.headers["Location"] == path
    assert not any(value in fields.values() for value in secret.values())  # nothing secret travels
    again = client.get(path).get_data(as_text=True)
    assert '<html lang="en">' in again
    for name, value in typed.items():
        if value and name != "remember":
            assert re.search(r'name="%s"[^>]*value="%s"' % (name, re.escape(value)), again), name
    if "remember" in typed:
        assert re.search(r'name="remember"[^>]*checked', again)
    for name in secret:
        assert not re.search(r'name="%s"[^>]*value="[^"]+"' % name, again), name
    # taken once: a later visit starts empty
    later = client.get(path).get_data(as_text=True)
    assert not re.search(r'name="%s"[^>]*value="[^"]+"' % next(k for k, v in typed.items() if v), later)


def test_the_query_string_is_kept_and_next_stays_local(client):
    page = client.get("/login?next=/account/email").get_data(as_text=True)
    failed = client.post("/login?next=/account/email", data={"login": "nobody", "password": "x" * 9,
                                                             "next": "/account/email",
                                                             "csrf_token": csrf_from(page)})
    switched, _fields = _switch(client, failed.get_data(as_text=True))
    assert switched.headers["Location"] == "/login?next=/account/email"
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        away = client.post("/lang/en", data={"next": target, "csrf_token": csrf_from(page),
                                             "carry-login": "x"})
        assert away.headers["Location"] in ("/", "/login"), target


def test_carried_fields_are_only_the_harmless_ones(client):
    page = client.get("/login").get_data(as_text=True)
    client.post("/lang/en", data={"next": "/login", "csrf_token": csrf_from(page), "carry-login": "alice",
                                  "carry-password": "hunter2 hunter2", "carry-code": "123456"})
    again = client.get("/login").get_data(as_text=True)
    assert 'value="alice"' in again and "hunter2" not in again and "123456" not in again


def test_a_post_only_page_returns_to_its_get_page(client, api):
    assert api.register().status_code == 202
    # the registration's code page, then a resend refused by the cooldown (POST-only address)
    page = client.get("/register").get_data(as_text=True)
    client.get("/captcha.png")
    from .support import CAPTCHA_TEXT

    client.post("/register", data={"email": "bob@example.com", "username": "bob", "password": PASSWORD,
                                   "confirm": PASSWORD, "captcha": CAPTCHA_TEXT,
                                   "csrf_token": csrf_from(page)})
    verify = client.get("/register/verify").get_data(as_text=True)
    refused = client.post("/register/resend", data={"csrf_token": csrf_from(verify)})
    assert refused.status_code == 429
    switched, _fields = _switch(client, refused.get_data(as_text=True))
    assert switched.headers["Location"] == "/register/verify"
