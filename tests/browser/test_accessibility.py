"""Issue 14, "Account page" and "Accessibility, measured", in Chromium: the show-password
button, signing out every other session (and that session being told why), end buttons named
for their device, labelled phone cards, the error summary taking focus and leading to its
field, the skip link, the 404/405 pages in both languages and the sign-out page of GET /logout.
(axe-core on every page: test_axe.py.)"""

import re

import pytest

from .helpers import PASSWORD, en, expect, flash, sign_in, submit, zh

pytestmark = pytest.mark.browser
ACCOUNT = re.compile(r"/account$")
LOGIN = re.compile(r"/login(\?.*)?$")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
PASSPHRASE_HINT = "At least %(num)d characters. A passphrase of several words is easy to remember and hard to guess."
ENDED = "You were signed out because the session was ended elsewhere."


def focused_id(page):
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_show_password_shows_and_hides_it_and_without_scripts_the_field_just_works(new_context, user,
                                                                                    fresh_ip):
    page = new_context().new_page()
    page.goto("/login")
    field = page.locator("#password")
    field.fill(PASSWORD)
    toggle = page.get_by_role("button", name=zh("Show") + " " + zh("Password"), exact=True)
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(field).to_have_attribute("type", "password")
    toggle.click()
    expect(field).to_have_attribute("type", "text")  # the typed password can be read
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert field.input_value() == PASSWORD
    toggle.click()
    expect(field).to_have_attribute("type", "password")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()  # shown when sent: it is a password field again before it leaves the page
    page.locator("#login").fill(user["username"])
    submit(page, zh("Sign in"))
    expect(page).to_have_url(ACCOUNT)

    # every password field has its own button: three on the change-password page
    page.goto("/account/password")
    expect(page.locator("main button[data-reveal]:visible")).to_have_count(3)

    # without JavaScript there is no button, and the field signs in as always
    bare = new_context(javascript=False).new_page()
    bare.goto("/login")
    expect(bare.locator("button[data-reveal]")).to_be_hidden()
    bare.get_by_label(zh("Email or username")).fill(user["username"])
    bare.get_by_label(zh("Password"), exact=True).fill(PASSWORD)
    submit(bare, zh("Sign in"))
    expect(bare).to_have_url(ACCOUNT)


def test_sign_out_all_other_sessions_and_they_are_told_why(new_context, user, fresh_ip):
    phone = new_context(user_agent=IPHONE, **PHONE).new_page()
    sign_in(phone, user["username"])
    expect(phone).to_have_url(ACCOUNT)
    english = new_context(locale="en-US").new_page()
    english.goto("/login")
    english.context.add_cookies([{"name": "lang", "value": "en", "url": _base(english)}])
    sign_in(english, user["username"], lang=en)
    page = new_context().new_page()
    sign_in(page, user["username"])

    # On the phone: one card per session, each value with its label, each button named for its device
    phone.goto("/account")
    cards = phone.locator("table.sessions tbody tr")
    expect(cards).to_have_count(4)  # three browsers and the registration's API token
    for label in (zh("Device"), zh("IP address"), zh("Last active")):
        expect(cards.first.locator(".cell-label", has_text=label)).to_be_visible()
    expect(phone.locator("table.sessions thead")).to_be_hidden()
    expect(phone.get_by_role("button", name=zh("Sign out") + " Mobile Safari · iOS", exact=True)).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    page.goto("/account")
    expect(page.locator(".cell-label").first).to_be_hidden()  # the desktop table has its headings
    page.get_by_role("button", name=zh("Sign out all other sessions")).click()
    expect(page).to_have_url(ACCOUNT)
    expect(flash(page)).to_have_text(zh("%(num)d other session was signed out.", num=3))
    expect(page.locator("table.sessions tbody tr")).to_have_count(1)
    expect(page.locator("table.sessions .badge.ok")).to_have_text(zh("This session"))

    # The phone's next page says what happened, in its language, instead of a bare sign-in page
    phone.goto("/account")
    expect(phone).to_have_url(LOGIN)
    expect(flash(phone)).to_have_text(zh(ENDED))
    english.reload()
    expect(english).to_have_url(LOGIN)
    expect(flash(english)).to_have_text(en(ENDED))
    english.goto("/login")  # said once
    expect(flash(english)).to_have_count(0)
    page.goto("/account")
    expect(page).to_have_url(ACCOUNT)  # this one carries on


def _base(page):
    return "/".join(page.url.split("/")[:3]) + "/" if page.url.startswith("http") else None


def test_the_error_summary_takes_focus_and_leads_to_its_field(page, user, fresh_ip):
    sign_in(page, user["username"], "not the password")
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.locator(".flash.error")).to_have_text(zh("The login name or password is incorrect."))
    field = page.locator("#password")
    expect(field).to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby").split()
    assert "form-errors" in described
    assert zh("The login name or password is incorrect.") in page.locator("#form-errors").inner_text()
    summary.get_by_role("link", name=zh("Password"), exact=True).click()
    expect(field).to_be_focused()

    # a field's own error: the summary names it, the field points at its message
    sign_in(page, user["username"])
    page.goto("/account/password")
    page.locator("#current_password").fill(PASSWORD)
    page.locator("#new_password").fill("violet kettle mountain")
    page.locator("#confirm").fill("another thing")
    submit(page, zh("Change password"))
    expect(summary).to_be_focused()
    expect(summary).to_contain_text(zh("Please correct the highlighted fields."))
    summary.get_by_role("link", name=zh("Repeat password")).click()
    expect(page.locator("#confirm")).to_be_focused()
    expect(page.locator("#confirm")).to_have_accessible_description(zh("The two passwords do not match."))
    expect(page.locator("#new_password")).to_have_accessible_description(zh(PASSPHRASE_HINT, num=8))


def test_skip_link_goes_to_the_main_content(page):
    page.goto("/login")
    skip = page.get_by_role("link", name=zh("Skip to main content"))
    expect(skip).not_to_be_in_viewport()
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/login#main$"))
    page.keyboard.press("Tab")  # the next stop is in the main content, past the header
    assert page.evaluate("document.activeElement.closest('main') !== null")
    expect(page.locator("#login")).to_be_focused()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_404_and_405_are_designed_pages(new_context, lang):
    say = zh if lang == "zh" else en
    page = new_context(locale="zh-CN" if lang == "zh" else "en-US").new_page()
    page.goto("/login")
    page.context.add_cookies([{"name": "lang", "value": lang, "url": _base(page)}])
    answer = page.goto("/no/such/page")
    assert answer.status == 404
    expect(page).to_have_title(re.compile("^" + re.escape(say("Page not found")) + " · "))
    expect(page.get_by_role("heading", level=1)).to_have_text(say("Page not found"))
    page.get_by_role("link", name=say("Sign in")).last.click()
    expect(page).to_have_url(LOGIN)
    answer = page.goto("/lang/en")  # an address only a form posts to
    assert answer.status == 405
    expect(page.get_by_role("heading", level=1)).to_have_text(say("This page cannot be opened like this"))
    expect(page.get_by_role("link", name=say("Back to the start page"))).to_be_visible()


def test_get_logout_offers_a_sign_out_button(page, user, fresh_ip):
    sign_in(page, user["username"])
    page.goto("/logout")
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("Sign out"))
    expect(page.locator("main")).to_contain_text(user["username"])
    page.goto("/account")
    expect(page).to_have_url(ACCOUNT)  # opening /logout signed nobody out
    page.goto("/logout")
    page.locator("main").get_by_role("button", name=zh("Sign out")).click()
    expect(page).to_have_url(LOGIN)
    expect(flash(page)).to_have_text(zh("You have signed out."))
    page.goto("/account")
    expect(page).to_have_url(LOGIN)
    page.goto("/logout")
    expect(page.locator("main")).to_contain_text(zh("You are not signed in."))
