"""Language switch, cookie flags and CSRF as the real browser sees them."""

import re

import pytest

from .helpers import en, expect, flash, sign_in, sign_out, zh

pytestmark = pytest.mark.browser
ACCOUNT = re.compile(r"/account$")


def test_language_switch_between_chinese_and_english(page, user, fresh_ip):
    page.goto("/login?next=/account")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text(zh("Sign in"))
    page.locator("header").get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/login\?next=/account$"))  # back to the same page
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text(en("Sign in"))
    expect(page.locator("footer")).to_have_text(en("Never share your verification codes. We will never ask for them."))

    # The choice sticks: other pages, sign-in and error messages are English now.
    sign_in(page, user["username"], "wrong password here", lang=en)
    expect(page.locator(".flash.error")).to_have_text(en("The login name or password is incorrect."))
    sign_in(page, user["username"], lang=en)
    expect(page).to_have_url(ACCOUNT)
    expect(page.locator("h1")).to_have_text(en("Your account"))

    page.locator("header").get_by_role("button", name="中文").click()
    expect(page).to_have_url(ACCOUNT)  # still signed in
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text(zh("Your account"))
    sign_out(page)
    expect(flash(page)).to_have_text(zh("You have signed out."))


def test_accept_language_english_without_switching(new_context):
    page = new_context(locale="en-US").new_page()
    page.goto("/register")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text(en("Create an account"))
    expect(page.locator("header").get_by_role("button", name="中文")).to_be_visible()


def test_cookies_are_httponly_and_samesite_lax(page, user, fresh_ip):
    sign_in(page, user["username"])
    expect(page).to_have_url(ACCOUNT)
    page.locator("header").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert set(cookies) == {"authsvc_session", "lang"}, cookies.keys()  # plain http: no __Host-
    for cookie in cookies.values():
        assert cookie["httpOnly"] is True, cookie
        assert cookie["sameSite"] == "Lax", cookie
        assert cookie["path"] == "/", cookie
    session = cookies["authsvc_session"]
    assert session["expires"] == -1  # a browser-session cookie unless "keep me signed in"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session["value"])  # a random id, nothing inside
    assert page.evaluate("document.cookie") == ""  # scripts see none of them


def test_post_without_csrf_token_is_refused(page, user, fresh_ip):
    page.goto("/login")
    page.get_by_label(zh("Email or username")).fill(user["username"])
    page.get_by_label(zh("Password"), exact=True).fill(user["password"])
    page.locator("main form:not(.passkey) input[name=csrf_token]").evaluate("input => input.remove()")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("main").get_by_role("button", name=zh("Sign in"), exact=True).click()
    assert answer.value.status == 400
    expect(page.locator("h1")).to_have_text(
        zh("The form expired or was sent from another site. Please try again."))
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # not signed in

    # Signed in, a script posting to /logout without the token changes nothing.
    sign_in(page, user["username"])
    expect(page).to_have_url(ACCOUNT)
    status = page.evaluate("fetch('/logout', {method: 'POST'}).then(r => r.status)")
    assert status == 400
    page.goto("/account")
    expect(page).to_have_url(ACCOUNT)


def cross_site_logout(page, stack):
    """A page on another site with a form that posts to /logout; the person clicks it."""
    evil = "http://evil.example/"
    page.route(evil, lambda route: route.fulfill(content_type="text/html", body=(
        f'<form method="post" action="{stack.url}/logout"><button>win a prize</button></form>')))
    page.goto(evil)
    with page.expect_response(f"{stack.url}/logout") as answer:
        page.get_by_role("button", name="win a prize").click()
    return answer.value


def test_a_form_on_another_site_is_refused(page, stack, user, fresh_ip):
    sign_in(page, user["username"])
    expect(page).to_have_url(ACCOUNT)
    response = cross_site_logout(page, stack)
    assert response.status == 400
    assert "cookie" not in response.request.all_headers()  # SameSite=Lax kept the session home
    expect(page.locator("h1")).to_have_text(
        zh("The form expired or was sent from another site. Please try again."))


def test_a_form_on_another_site_does_not_sign_you_out(page, stack, user, fresh_ip):
    sign_in(page, user["username"])
    expect(page).to_have_url(ACCOUNT)
    cross_site_logout(page, stack)
    page.goto(f"{stack.url}/account")
    expect(page).to_have_url(f"{stack.url}/account", timeout=1000)
