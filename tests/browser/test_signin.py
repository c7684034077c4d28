"""Signing in and out: password, wrong password, captcha, lockout, emailed code, second step."""

import re

import pytest

from .helpers import (PASSWORD, captcha_loaded, enter_code, expect, flash, request_code, sign_in, sign_out,
                      solve_captcha, submit, unique, zh, zh_plural)

pytestmark = pytest.mark.browser
ACCOUNT = re.compile(r"/account$")
LOGIN = re.compile(r"/login$")


def test_sign_in_by_username_and_email_then_sign_out(page, user, fresh_ip):
    sign_in(page, user["username"])
    expect(page).to_have_url(ACCOUNT)
    expect(page.locator("dl.facts")).to_contain_text(user["email"])
    header = page.locator("header")
    expect(header.get_by_role("link", name=zh("Account"))).to_be_visible()
    expect(header.get_by_role("link", name=zh("Admin"))).to_have_count(0)  # not an admin

    sign_out(page)
    expect(flash(page)).to_have_text(zh("You have signed out."))
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Faccount$"))

    sign_in(page, user["email"].upper())  # addresses are case-insensitive
    expect(page).to_have_url(ACCOUNT)


def test_the_sign_in_prompt_is_in_chinese(page):
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(flash(page)).to_have_count(1)
    assert not re.search(r"[A-Za-z]{3,}", flash(page).inner_text()), flash(page).inner_text()


LEFT = ("The login name or password is incorrect. After %(num)d more wrong try, sign-in is locked for %(when)s.",
        "The login name or password is incorrect. After %(num)d more wrong tries, sign-in is locked for %(when)s.")
LOCKED = re.compile("^" + re.escape(zh(
    "Too many wrong passwords: sign-in with the password is locked for %(when)s more, until %(until)s. "
    "Meanwhile you can sign in with an emailed code, or reset your password by emailed code (that also "
    "lifts the lock at once).", when="@W@", until="@U@")).replace("@W@", r"(9|10) 分钟").replace(
    "@U@", r"\d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+8\)") + "$")


def _wrong_then_captcha_then_lockout(page, login, password):
    """Five wrong passwords for `login`; returns the texts of the answers, in order."""
    wrong = zh("The login name or password is incorrect.")
    for attempt in (1, 2):
        sign_in(page, login, "not my password at all")
        expect(page.locator(".flash.error")).to_have_text(wrong)
        expect(page.locator("img[data-captcha]")).to_have_count(0)  # no captcha yet
        expect(page.get_by_label(zh("Email or username"))).to_have_value(login)

    # The third failure (LOGIN_CAPTCHA_AFTER=3): from now on the form carries a captcha, and
    # the answer says how many tries are left before the 10-minute lock.
    sign_in(page, login, "not my password at all")
    expect(page.locator(".flash.error")).to_have_text(zh_plural(*LEFT, 2, when=zh_plural("%(num)d minute", "%(num)d minutes", 10)))
    captcha_loaded(page)
    page.goto("/login")
    captcha_loaded(page)

    # Without solving it the attempt is refused before the password is even checked.
    page.get_by_label(zh("Email or username")).fill(login)
    page.get_by_label(zh("Password"), exact=True).fill(password)
    submit(page, zh("Sign in"))
    expect(page.get_by_text(zh("Please enter the characters shown in the picture."))).to_be_visible()
    expect(page).to_have_url(LOGIN)

    # Fourth wrong password (captcha solved): one try left; the fifth locks.
    sign_in(page, login, "still not my password")
    expect(page.locator(".flash.error")).to_have_text(zh_plural(*LEFT, 1, when=zh_plural("%(num)d minute", "%(num)d minutes", 10)))
    sign_in(page, login, "still not my password")
    expect(page.locator(".flash.error")).to_have_text(LOCKED)
    ways = page.locator("#locked-next-steps")
    expect(ways.get_by_role("link", name=zh("Sign in with an emailed code"))).to_have_attribute(
        "href", re.compile(r"^/login/code"))
    expect(ways.get_by_role("link", name=zh("Reset your password by emailed code"))).to_have_attribute("href", "/reset")

    # Locked: even the right password is refused, with the same message.
    sign_in(page, login, password)
    expect(page.locator(".flash.error")).to_have_text(LOCKED)
    expect(page).to_have_url(LOGIN)
    return page.locator(".flash.error").inner_text()


def test_wrong_password_then_captcha_then_lockout(page, user, fresh_ip):
    _wrong_then_captcha_then_lockout(page, user["username"], user["password"])


def test_an_unknown_login_gets_the_same_hints_and_lock(page, fresh_ip):
    _wrong_then_captcha_then_lockout(page, unique("nobody")[0], "whatever it is")


def sign_in_by_code(page, user, inbox):
    masked = request_code(page, "Sign in with an emailed code", user["email"], "Send sign-in code",
                          "/login/code/verify")
    expect(flash(page)).to_have_text(
        zh("If %(email)s has an account, a sign-in code is on its way.", email=masked))
    enter_code(page, inbox.code(user["email"], 2), zh("Sign in"))  # mail 1: registration
    expect(page).to_have_url(ACCOUNT)


def test_sign_in_with_an_emailed_code_then_confirm_password_for_settings(page, user, inbox, fresh_ip):
    sign_in_by_code(page, user, inbox)

    # A session opened by a code alone must enter the password before security settings.
    page.get_by_role("link", name=zh("Change password")).click()
    expect(page).to_have_url(re.compile(r"/account/confirm-password\?next="))
    expect(page.locator("h1")).to_have_text(zh("Confirm your password"))
    page.get_by_label(zh("Password"), exact=True).fill(PASSWORD)
    submit(page, zh("Continue"))
    expect(page).to_have_url(re.compile(r"/account/password$"))
    expect(page.locator("h1")).to_have_text(zh("Change password"))


def test_account_page_labels_a_code_session(page, user, inbox, fresh_ip):
    sign_in_by_code(page, user, inbox)
    current = page.locator("table.list tr", has=page.locator(".badge.ok"))
    expect(current).to_contain_text(zh("emailed code"), timeout=1000)


def test_code_sign_in_for_an_unknown_address_looks_the_same(page, inbox, fresh_ip):
    email = "nobody-here@example.com"
    page.goto("/login/code")
    page.get_by_label(zh("Email")).fill(email)
    solve_captcha(page)
    submit(page, zh("Send sign-in code"))
    expect(page).to_have_url(re.compile(r"/login/code/verify$"))
    expect(flash(page)).to_have_text(
        zh("If %(email)s has an account, a sign-in code is on its way.", email="n***@example.com"))


def test_second_step_by_emailed_code(new_context, second_factor_url, user, inbox, fresh_ip):
    page = new_context(base_url=second_factor_url).new_page()
    sign_in(page, user["username"])
    expect(page).to_have_url(re.compile(r"/login/verify$"))
    expect(page.locator("h1")).to_have_text(zh("Confirm it is you"))
    masked = user["email"][0] + "***@example.com"
    expect(page.get_by_text(zh("Your password was right. To finish signing in, enter the 6-digit "
                               "code we sent to %(email)s.", email=masked))).to_be_visible()
    code = inbox.code(user["email"], 2)  # mail 1: registration
    page.goto("/account")  # not signed in yet
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.goto("/login/verify")

    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    enter_code(page, wrong, zh("Sign in"))
    expect(page.locator(".flash.error")).to_have_text(
        zh_plural("The code is wrong; %(num)d try left.", "The code is wrong; %(num)d tries left.", 4))
    enter_code(page, code, zh("Sign in"))
    expect(page).to_have_url(ACCOUNT)
    expect(page.locator("dl.facts")).to_contain_text(user["email"])
    device = {c["name"]: c for c in page.context.cookies()}["authsvc_device"]
    assert device["httpOnly"] is True and device["sameSite"] == "Lax"
