"""Recovery and account settings in the browser: reset, change password, change email, sessions."""

import re

import pytest

from .helpers import (PASSWORD, enter_code, expect, flash, request_code, sign_in, submit,
                      text_of, unique, zh)

pytestmark = pytest.mark.browser
ACCOUNT = re.compile(r"/account$")
LOGIN = re.compile(r"/login$")
NEW_PASSWORD = "violet kettle mountain"
PASSPHRASE_HINT = "At least %(num)d characters. A passphrase of several words is easy to remember and hard to guess."


def signed_in(page):
    page.goto("/account")
    return bool(ACCOUNT.search(page.url))


def test_reset_password_by_emailed_code(new_context, user, inbox, fresh_ip):
    elsewhere = new_context().new_page()  # a session that the reset must end
    sign_in(elsewhere, user["username"])
    expect(elsewhere).to_have_url(ACCOUNT)

    page = new_context().new_page()
    masked = request_code(page, "Forgot your password?", user["email"], "Send reset code", "/reset/verify")
    expect(flash(page)).to_have_text(zh("If %(email)s has an account, a reset code is on its way. "
                                        "It is valid for %(num)d minutes.", email=masked, num=30))
    code = inbox.code(user["email"], 2)  # mail 1: registration

    # A confirm field that does not match is caught on the page, and the code is not spent.
    page.get_by_label(zh("Verification code")).fill(code)
    page.get_by_label(zh("New password"), exact=True).fill(NEW_PASSWORD)
    page.get_by_label(zh("Repeat password")).fill(NEW_PASSWORD + " typo")
    submit(page, zh("Set new password"))
    expect(page.get_by_text(zh("The two passwords do not match."))).to_be_visible()
    expect(page.get_by_text(zh(PASSPHRASE_HINT, num=8))).to_be_visible()

    page.get_by_label(zh("Verification code")).fill(code)
    page.get_by_label(zh("New password"), exact=True).fill(NEW_PASSWORD)
    page.get_by_label(zh("Repeat password")).fill(NEW_PASSWORD)
    submit(page, zh("Set new password"))
    expect(page).to_have_url(LOGIN)  # not signed in by the reset itself
    expect(flash(page)).to_have_text(
        zh("Your password was reset. Every other session was signed out. Please sign in."))
    alert = inbox.message(user["email"], 3)
    assert not re.search(r"\b\d{6}\b", text_of(alert)), "a security alert carries no code"

    assert not signed_in(elsewhere)
    sign_in(page, user["username"], PASSWORD)
    expect(page.locator(".flash.error")).to_have_text(zh("The login name or password is incorrect."))
    sign_in(page, user["username"], NEW_PASSWORD)
    expect(page).to_have_url(ACCOUNT)


def test_change_password_ends_the_other_sessions(new_context, user, inbox, fresh_ip):
    elsewhere = new_context().new_page()
    sign_in(elsewhere, user["username"])
    page = new_context().new_page()
    sign_in(page, user["username"])
    expect(page).to_have_url(ACCOUNT)
    page.get_by_role("link", name=zh("Change password")).click()
    expect(page).to_have_url(re.compile(r"/account/password$"))

    page.get_by_label(zh("Current password")).fill("not the current one")
    page.get_by_label(zh("New password"), exact=True).fill(NEW_PASSWORD)
    page.get_by_label(zh("Repeat password")).fill(NEW_PASSWORD)
    submit(page, zh("Change password"))
    expect(page.get_by_text(zh("The current password is wrong."))).to_be_visible()
    expect(page.locator("#current_password")).to_have_attribute("aria-invalid", "true")

    page.get_by_label(zh("Current password")).fill(PASSWORD)
    page.get_by_label(zh("New password"), exact=True).fill(NEW_PASSWORD)
    page.get_by_label(zh("Repeat password")).fill(NEW_PASSWORD)
    submit(page, zh("Change password"))
    expect(page).to_have_url(ACCOUNT)
    expect(flash(page)).to_have_text(zh("Your password was changed. Every other session was signed out."))
    expect(page.locator("dl.facts")).to_contain_text(zh("Password changed"))
    inbox.message(user["email"], 2)  # the security alert

    assert signed_in(page)  # this session carries on
    assert not signed_in(elsewhere)
    sign_in(elsewhere, user["username"], NEW_PASSWORD)
    expect(elsewhere).to_have_url(ACCOUNT)


def test_change_email_with_a_code_sent_to_the_new_address(page, user, inbox, fresh_ip):
    _name, new_email = unique("moved")
    sign_in(page, user["username"])
    page.get_by_role("link", name=zh("Change email")).click()
    expect(page).to_have_url(re.compile(r"/account/email$"))
    page.get_by_label(zh("New email")).fill(new_email)
    page.get_by_label(zh("Current password")).fill(PASSWORD)
    submit(page, zh("Send verification code"))
    expect(page).to_have_url(re.compile(r"/account/email/verify$"))
    masked = new_email[0] + "***@example.com"
    expect(flash(page)).to_have_text(zh("We sent a 6-digit code to %(email)s.", email=masked))
    code = inbox.code(new_email, 1)

    # Until the code is entered nothing changes; the account page says a change is pending.
    page.goto("/account")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(user["email"])
    expect(facts.locator(".badge")).to_have_text(zh("change to %(email)s pending", email=new_email))
    page.goto("/account/email/verify")
    enter_code(page, code, zh("Confirm"))
    expect(page).to_have_url(ACCOUNT)
    expect(flash(page)).to_have_text(zh("Your email address is now %(email)s.", email=new_email))
    expect(facts).to_contain_text(new_email)
    alert = inbox.message(user["email"], 2)  # the notice goes to the old address
    assert masked in text_of(alert) and code not in text_of(alert)

    page.locator("header").get_by_role("button", name=zh("Sign out")).click()
    sign_in(page, new_email)
    expect(page).to_have_url(ACCOUNT)


def test_sessions_list_and_ending_another_session(new_context, user, fresh_ip):
    phone = new_context(user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
                        "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 "
                        "Safari/604.1").new_page()
    sign_in(phone, user["username"])
    expect(phone).to_have_url(ACCOUNT)
    page = new_context().new_page()
    sign_in(page, user["username"])
    expect(page).to_have_url(ACCOUNT)

    expect(page.locator("h2").first).to_have_text(zh("Where you are signed in"))
    rows = page.locator("table.list tbody tr")
    browsers = rows.filter(has_text=zh("Browser"))
    expect(browsers).to_have_count(2)  # the API token of the registration is listed too
    this = rows.filter(has=page.locator(".badge.ok"))
    expect(this).to_have_count(1)
    expect(this).to_contain_text(zh("This session"))
    other = browsers.filter(has_text="iOS")
    expect(other).to_contain_text("Mobile Safari")
    other.get_by_role("button", name=zh("Sign out")).click()
    expect(page).to_have_url(ACCOUNT)
    expect(flash(page)).to_have_text(zh("The session was ended."))
    expect(rows.filter(has_text="iOS")).to_have_count(0)

    assert not signed_in(phone)
    assert signed_in(page)

    # Ending this very session signs this browser out.
    rows.filter(has=page.locator(".badge.ok")).get_by_role("button", name=zh("Sign out")).click()
    expect(page).to_have_url(LOGIN)
    assert not signed_in(page)
