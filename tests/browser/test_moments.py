"""Issue 14, "things that are wrong today", in Chromium: the lock on the confirm-password
page, the undo link of an email change, the captcha kept after a 429, the language switch
after a failed POST."""

import re
import time

import pytest

from .helpers import (CAPTCHA_TEXT, PASSWORD, en, enter_code, expect, flash, sign_in, solve_captcha, submit,
                      text_of, unique, zh)
from .test_signin import sign_in_by_code

pytestmark = pytest.mark.browser
ACCOUNT = re.compile(r"/account$")
NEW_PASSWORD = "violet kettle mountain"
LOCAL_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+8\)")


def _lock(api, login):
    for _ in range(6):
        _status, captcha = api.post("/captcha")
        api.post("/sessions", {"login": login, "password": "not the password at all",
                               "captcha_id": captcha["captcha_id"], "captcha_answer": CAPTCHA_TEXT})


def test_right_password_while_locked_says_what_happened_and_keeps_the_session(page, user, inbox, api,
                                                                              fresh_ip):
    sign_in_by_code(page, user, inbox)
    _lock(api, user["username"])
    page.get_by_role("link", name=zh("Change password")).click()
    expect(page).to_have_url(re.compile(r"/account/confirm-password\?next="))
    page.get_by_label(zh("Password"), exact=True).fill(PASSWORD)
    submit(page, zh("Continue"))
    message = page.locator(".flash.error")
    expect(message).to_contain_text(LOCAL_TIME)
    expect(page).to_have_url(re.compile(r"/account/confirm-password"))  # not thrown out to /login
    expect(page.locator("#locked-next-steps").get_by_role(
        "link", name=zh("Reset your password by emailed code"))).to_have_attribute("href", "/reset")
    page.goto("/account")
    expect(page).to_have_url(ACCOUNT)  # still signed in


def test_the_old_address_undoes_an_email_change_from_the_mail(new_context, user, inbox, fresh_ip):
    _name, new_email = unique("taken")
    intruder = new_context().new_page()
    sign_in(intruder, user["username"])
    intruder.goto("/account/email")
    intruder.get_by_label(zh("New email")).fill(new_email)
    intruder.get_by_label(zh("Current password")).fill(PASSWORD)
    submit(intruder, zh("Send verification code"))
    enter_code(intruder, inbox.code(new_email, 1), zh("Confirm"))
    expect(intruder).to_have_url(ACCOUNT)

    notice = text_of(inbox.message(user["email"], 2))
    assert "/reset" not in notice
    link = re.search(r"http://\S+/email/undo/\S+", notice).group(0)
    owner = new_context().new_page()
    owner.goto(link)
    expect(owner.locator("h1")).to_have_text(zh("Undo the email change"))
    owner.get_by_role("button", name=zh("Undo the change")).click()
    expect(owner).to_have_url(re.compile(r"/reset/verify$"))
    expect(flash(owner)).to_contain_text(user["email"])

    intruder.goto("/account")
    expect(intruder).to_have_url(re.compile(r"/login"))  # every session ended
    enter_code_and_password = inbox.code(user["email"], 3)
    owner.get_by_label(zh("Verification code")).fill(enter_code_and_password)
    owner.get_by_label(zh("New password"), exact=True).fill(NEW_PASSWORD)
    owner.get_by_label(zh("Repeat password")).fill(NEW_PASSWORD)
    submit(owner, zh("Set new password"))
    sign_in(owner, user["email"], NEW_PASSWORD)
    expect(owner).to_have_url(ACCOUNT)
    expect(owner.locator("dl.facts")).to_contain_text(user["email"])

    owner.goto(link)  # once only
    expect(owner.locator("#undo-error")).to_be_visible()


def test_a_429_keeps_the_solved_captcha_for_the_retry(page, user, fresh_ip):
    drawn = []
    page.on("request", lambda r: drawn.append(r.url) if "/captcha.png" in r.url else None)
    for _ in range(2):
        page.goto("/login/code")
        page.get_by_label(zh("Email")).fill(user["email"])
        solve_captcha(page)
        submit(page, zh("Send sign-in code"))
    # the second request fell into the resend cooldown (3 s in this stack)
    expect(page.locator("#captcha-kept")).to_be_visible()
    expect(page.locator("img[data-captcha]")).to_have_count(0)
    assert len(drawn) == 2
    time.sleep(3.2)
    submit(page, zh("Send sign-in code"))
    expect(page).to_have_url(re.compile(r"/login/code/verify$"))
    assert len(drawn) == 2  # no third picture to solve


def test_switching_language_after_a_failed_post_keeps_the_page_and_the_form(page, fresh_ip):
    name, email = unique("lang")
    page.goto("/register")
    page.get_by_label(zh("Email")).fill(email)
    page.get_by_label(zh("Username")).fill(name)
    page.get_by_label(zh("Password"), exact=True).fill("short")
    page.get_by_label(zh("Repeat password")).fill("short")
    solve_captcha(page)
    submit(page, zh("Send verification code"))
    expect(page.locator(".errors").first).to_be_visible()  # the failed POST's page
    page.get_by_label(zh("Username")).fill(name + "x")  # typed after the failure
    page.locator("header").get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/register$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label(en("Email"))).to_have_value(email)
    expect(page.get_by_label(en("Username"))).to_have_value(name + "x")
    expect(page.get_by_label(en("Password"), exact=True)).to_have_value("")
