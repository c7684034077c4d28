"""A visitor's first GET of an anonymous page comes from a text rendered once (web/page_cache.py):
no template runs, the visitor's own CSRF token is in it and works; whatever makes a page
differ (language, a captcha after failures, a query string, a message, a signed-in user) is
rendered as before."""

import re

import pytest
from flask import template_rendered

from .support import csrf_from
from .test_sessions_web import sign_in, signed_in

PAGES = ("/login", "/register", "/reset", "/login/code")


@pytest.fixture
def renders(app):
    seen = []

    def record(_sender, template, **_extra):
        seen.append(template.name)

    template_rendered.connect(record, app)
    yield seen
    template_rendered.disconnect(record, app)


def visitor(app):
    return app.test_client()


@pytest.mark.parametrize("path", PAGES)
def test_a_second_visitor_gets_the_page_without_a_render_and_with_a_token_of_its_own(app, renders, path):
    first = visitor(app).get(path)
    assert first.status_code == 200 and renders  # the first visit renders
    renders.clear()
    second = visitor(app).get(path)
    assert second.status_code == 200 and renders == []
    first_token, second_token = csrf_from(first.get_data(as_text=True)), csrf_from(second.get_data(as_text=True))
    assert first_token != second_token and "csrf" not in second_token[:4]
    # the same page but for its tokens: every token on it is the visitor's own
    tokens = set(re.findall(r'name="csrf_token"[^>]*value="([^"]+)"', second.get_data(as_text=True)))
    assert tokens == {second_token}
    assert re.sub(r'value="[^"]*"', "", first.get_data(as_text=True)) == \
        re.sub(r'value="[^"]*"', "", second.get_data(as_text=True))


def test_the_token_of_a_page_from_the_cache_signs_in(app, register_user):
    register_user()
    visitor(app).get("/login")  # fills the cache
    browser_client = visitor(app)
    page = browser_client.get("/login").get_data(as_text=True)
    answer = browser_client.post("/login", data={"login": "alice", "password": "correct horse battery",
                                                 "csrf_token": csrf_from(page)})
    assert answer.status_code == 302 and browser_client.get("/account").status_code == 200


def test_each_language_has_its_own_page(app):
    for _ in range(2):
        english = visitor(app).get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
        chinese = visitor(app).get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
        assert '<html lang="en">' in english and "Sign in" in english
        assert '<html lang="zh-CN">' in chinese and "登录" in chinese


def test_what_makes_a_page_differ_is_rendered(app, browser, register_user, renders):
    register_user()
    visitor(app).get("/login")
    # a query string: the way back is in the page
    renders.clear()
    page = visitor(app).get("/login?next=/account/email").get_data(as_text=True)
    assert renders and "/account/email" in page
    # signed in: sent on, not served the page; signed out: the message waiting is shown
    assert sign_in(browser).status_code == 302 and signed_in(browser)
    assert browser.get("/login").status_code == 302
    html = browser.get("/account").get_data(as_text=True)
    browser.client.post("/logout", data={"csrf_token": csrf_from(html)})
    assert "您已退出登录" in browser.get("/login").get_data(as_text=True)
    # failures from this network: the captcha appears on the next plain visit
    for _ in range(3):
        sign_in(browser, password="wrong password")
    assert 'name="captcha"' in visitor(app).get("/login").get_data(as_text=True)
