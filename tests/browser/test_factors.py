"""The authenticator app in a real browser (issue 13): set it up from /account (the key read
from the page, the code computed with pyotp), sign out, sign in with password + app code;
the set-up page fits a 390 px phone and is usable by keyboard."""

import re
import time

import pyotp
import pytest

from .helpers import expect, sign_in, sign_out, submit, zh

pytestmark = pytest.mark.browser
ACCOUNT = re.compile(r"/account$")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def test_set_up_the_app_then_sign_in_with_it(new_context, user, fresh_ip):
    page = new_context(**PHONE).new_page()
    sign_in(page, user["username"])
    expect(page).to_have_url(ACCOUNT)
    page.get_by_role("link", name=zh("Set up an authenticator app")).click()
    expect(page.locator(".qr svg")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret

    # typed and sent with Enter, as from a keyboard
    field = page.get_by_label(zh("Code from your authenticator app"))
    field.focus()
    page.keyboard.type(pyotp.TOTP(secret).now())
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=zh("Your recovery codes"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{5}-[a-z2-7]{5}", c) for c in codes)
    page.get_by_role("link", name=zh("I have saved them")).click()
    expect(page.locator("#factors")).to_contain_text(zh("On"))

    sign_out(page)
    sign_in(page, user["username"])
    expect(page).to_have_url(re.compile(r"/login/verify$"))
    expect(page.get_by_role("link", name=zh("Lost your phone? Use a recovery code"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_label(zh("Code from your authenticator app")).fill(pyotp.TOTP(secret).at(time.time() + 30))
    submit(page, zh("Sign in"))
    expect(page).to_have_url(ACCOUNT)
    expect(page.locator("#factors")).to_contain_text(zh("On"))
