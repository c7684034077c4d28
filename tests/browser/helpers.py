"""What a person does on the pages, the texts they read (from the real zh catalog), their mail."""

import re
import secrets
import time

import pytest

from .availability import SKIP_LINE, missing

if missing():  # a test module named explicitly on the command line
    pytest.skip(SKIP_LINE, allow_module_level=True)

from babel.support import Translations  # noqa: E402
from playwright.sync_api import expect  # noqa: E402,F401  (re-exported for the tests)

from ..support import CODE_RE, text_of  # noqa: E402
from .stack import CAPTCHA_TEXT, ROOT  # noqa: E402

PASSWORD = "correct horse battery"
_ZH = Translations.load(str(ROOT / "authsvc" / "translations"), ["zh"])


def zh(msgid, **values):
    """The Simplified Chinese text the page shows for an English msgid."""
    text = _ZH.gettext(msgid)
    assert text != msgid or not re.search(r"[A-Za-z]{3}", msgid), f"untranslated: {msgid!r}"
    return text % values if values else text


def zh_plural(singular, plural, num, **values):
    return _ZH.ngettext(singular, plural, num) % dict(values, num=num)


def en(msgid, **values):
    return msgid % values if values else msgid


def unique(prefix="u"):
    """A fresh username (lowercase letters and digits) and a matching address."""
    name = f"{prefix}{secrets.token_hex(4)}"
    return name, f"{name}@example.com"


# -- mail --------------------------------------------------------------------------------
class Inbox:
    """The messages the aiosmtpd server accepted, in arrival order per recipient."""

    def __init__(self, smtp):
        self.smtp = smtp

    def messages(self, to):
        with self.smtp.recorder.lock:
            found = list(self.smtp.recorder.messages)
        return [m["message"] for m in found if to in m["to"]]

    def count(self, to):
        return len(self.messages(to))

    def message(self, to, nth, timeout=15):
        """The nth (1-based) mail to `to`, waiting for the mail-worker to deliver it."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.messages(to)
            if len(found) >= nth:
                return found[nth - 1]
            time.sleep(0.05)
        raise AssertionError(f"mail #{nth} to {to} did not arrive within {timeout} s "
                             f"({len(self.messages(to))} arrived)")

    def code(self, to, nth):
        """The 6-digit code in the nth mail to `to`."""
        match = CODE_RE.search(text_of(self.message(to, nth)))
        assert match, f"no code in mail #{nth} to {to}"
        return match.group(1)


# -- pages -------------------------------------------------------------------------------
def captcha_loaded(page):
    """The captcha picture really loaded (a decoded PNG, not a broken image)."""
    image = page.locator("img[data-captcha]")
    expect(image).to_be_visible()
    image.evaluate("img => img.decode()")  # waits for the picture; throws if it is broken
    assert image.evaluate("img => img.complete && img.naturalWidth") == 240
    return image


def solve_captcha(page):
    captcha_loaded(page)
    page.locator("#captcha").fill(CAPTCHA_TEXT)


def submit(page, name):
    """Click the submit button of the main form (the one in <main>) by its visible text."""
    page.locator("main").get_by_role("button", name=name, exact=True).click()


def flash(page):
    return page.locator(".flash")


def sign_in(page, login, password=PASSWORD, lang=zh):
    """The password form as a person fills it (with the captcha when the page asks for one)."""
    page.goto("/login")
    page.get_by_label(lang("Email or username")).fill(login)
    page.get_by_label(lang("Password"), exact=True).fill(password)
    if page.locator("img[data-captcha]").count():
        solve_captcha(page)
    submit(page, lang("Sign in"))


def sign_out(page, lang=zh):
    page.locator("header").get_by_role("button", name=lang("Sign out")).click()
    expect(page).to_have_url(re.compile(r"/login$"))


def request_code(page, link, email, button, verify_path):
    """From /login, follow `link` to a page that mails a code, ask for it for `email` (captcha
    solved) and land on `verify_path`; returns the masked address the page names."""
    page.goto("/login")
    page.get_by_role("link", name=zh(link)).click()
    page.get_by_label(zh("Email")).fill(email)
    solve_captcha(page)
    submit(page, zh(button))
    expect(page).to_have_url(re.compile(re.escape(verify_path) + "$"))
    return email[0] + "***@" + email.split("@", 1)[1]


def enter_code(page, code, button):
    page.get_by_label(zh("Verification code")).fill(code)
    submit(page, button)
