"""Screenshots of the main pages at phone and desktop width -> docs/screenshots/*.png, and of
the mail as it renders (its HTML part in the same Chromium).

On demand, not part of the suite (the file name does not match test_*.py):

    make screenshots        # = pytest tests/browser/screenshots.py

Chinese text needs a CJK font in the system (Debian: apt-get install -y fonts-noto-cjk).
"""

import re
import shutil
import subprocess
import time

import pytest

from .helpers import PASSWORD, enter_code, expect, flash, sign_in, solve_captcha, submit, zh
from .stack import ROOT

pytestmark = pytest.mark.browser
OUT = ROOT / "docs" / "screenshots"
WIDTHS = {"phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
          "desktop": {"viewport": {"width": 1280, "height": 800}}}
PERSON = {"email": "zhangwei@example.com", "username": "zhangwei"}


def cjk_font_installed():
    if not shutil.which("fc-list"):
        return False
    return bool(subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout.strip())


def shoot(page, name, width):
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}-{width}.png"), full_page=True, animations="disabled",
                    caret="hide")


def mail_about(inbox, to, subject, timeout=15):
    """The newest mail to `to` whose subject contains `subject` (waiting for the mail-worker)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [m for m in inbox.messages(to) if subject in str(m["Subject"])]
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no mail about {subject!r} to {to}")


def shoot_mail(pages, message, name):
    """The mail's HTML part in a blank tab of each width, as a mail client would show it."""
    html = message.get_body(preferencelist=("html",)).get_content()
    for width, page in pages.items():
        tab = page.context.new_page()
        tab.set_content(html)
        shoot(tab, name, width)
        tab.close()


@pytest.fixture
def audit_events(new_context, admin, make_user, fresh_ip):
    """Something to look at in the admin pages: users, failures, invites."""
    page = new_context().new_page()
    for _ in range(2):
        make_user(prefix="demo")
    sign_in(page, PERSON["email"], "a wrong password")
    sign_in(page, admin["email"], admin["password"])
    page.goto("/admin/invites")
    page.get_by_label(zh("How many codes")).fill("3")
    page.get_by_label(zh("Uses per code")).fill("5")
    page.get_by_label(zh("Expires on (optional)")).fill("2099-12-31")
    submit(page, zh("Create"))
    page.locator("table.list tbody tr").first.get_by_role("button", name=zh("Disable")).click()


def test_screenshots(new_context, inbox, admin, fresh_ip, request):
    assert cjk_font_installed(), "no CJK font: apt-get install -y fonts-noto-cjk (else 中文 shows as boxes)"
    OUT.mkdir(parents=True, exist_ok=True)
    pages = {width: new_context(**options).new_page() for width, options in WIDTHS.items()}

    # Anonymous pages, and the registration that leads to the code page.
    for width, page in pages.items():
        for name, path in (("login", "/login"), ("login-code", "/login/code"), ("reset", "/reset"),
                           ("not-found", "/no/such/page")):
            page.goto(path)
            shoot(page, name, width)
        # a wrong password: the error summary (focused) names and links the field
        page.goto("/login")
        page.get_by_label(zh("Email or username")).fill(PERSON["username"])
        page.get_by_label(zh("Password"), exact=True).fill("a wrong password")
        submit(page, zh("Sign in"))
        expect(page.locator("#error-summary")).to_be_focused()
        shoot(page, "login-error", width)
        page.goto("/register")
        shoot(page, "register", width)

    page = pages["phone"]
    page.get_by_label(zh("Email")).fill(PERSON["email"])
    page.get_by_label(zh("Username")).fill(PERSON["username"])
    page.get_by_label(zh("Password"), exact=True).fill(PASSWORD)
    page.get_by_label(zh("Repeat password")).fill(PASSWORD)
    solve_captcha(page)
    submit(page, zh("Send verification code"))
    expect(page).to_have_url(re.compile(r"/register/verify$"))
    pages["desktop"].context.add_cookies(page.context.cookies())  # the same pending registration
    for width, each in pages.items():
        each.goto("/register/verify")
        shoot(each, "register-verify", width)
    shoot_mail(pages, inbox.message(PERSON["email"], 1), "mail-code")
    enter_code(page, inbox.code(PERSON["email"], 1), zh("Confirm and create account"))
    expect(page).to_have_url(re.compile(r"/account$"))
    sign_in(pages["desktop"], PERSON["username"])  # a second session in the list
    for width, each in pages.items():
        each.goto("/account")
        shoot(each, "account", width)

    # The password page with the password shown (the show-password button pressed), then the
    # change itself: the security alert, and the other session told why it was signed out.
    page.goto("/account/password")
    page.get_by_label(zh("Current password")).fill(PASSWORD)
    page.get_by_label(zh("New password"), exact=True).fill("violet kettle mountain")
    page.locator("button[aria-controls=new_password]").click()
    shoot(page, "account-password", "phone")
    page.get_by_label(zh("Repeat password")).fill("violet kettle mountain")
    submit(page, zh("Change password"))
    expect(flash(page)).to_be_visible()
    shoot_mail(pages, mail_about(inbox, PERSON["email"], zh("Your password was changed")), "mail-alert")
    pages["desktop"].goto("/account")
    expect(flash(pages["desktop"])).to_have_text(zh("You were signed out because the session was ended elsewhere."))
    shoot(pages["desktop"], "ended-elsewhere", "desktop")

    request.getfixturevalue("audit_events")
    for width, each in pages.items():
        each.context.clear_cookies()
        sign_in(each, admin["email"], admin["password"])
        expect(each).to_have_url(re.compile(r"/account$"))
        for name, path in (("admin", "/admin"), ("admin-invites", "/admin/invites"),
                           ("admin-audit", "/admin/audit")):
            each.goto(path)
            shoot(each, name, width)


def test_passkey_screenshots(new_context, make_user):
    """The passkey pages (issue 13): add one, the recovery codes it brings, the account's list,
    the login page with its passkey button. Only this: pytest tests/browser/screenshots.py -k passkey"""
    from .test_passkeys import password_sign_in, virtual_authenticator

    assert cjk_font_installed(), "no CJK font: apt-get install -y fonts-noto-cjk (else 中文 shows as boxes)"
    OUT.mkdir(parents=True, exist_ok=True)
    person = make_user(prefix="zhang")
    context = new_context(**WIDTHS["phone"])
    page = context.new_page()
    virtual_authenticator(context, page)
    password_sign_in(page, person["username"])
    page.goto("/account/passkeys/new")
    page.get_by_label(zh("Name")).fill("MacBook")
    shoot(page, "passkey-add", "phone")
    page.get_by_role("button", name=zh("Create passkey")).click()
    expect(page.get_by_role("heading", name=zh("Your recovery codes"))).to_be_visible()
    shoot(page, "recovery-codes", "phone")
    page.goto("/account")
    page.locator("#passkeys").scroll_into_view_if_needed()
    page.locator("#passkeys").screenshot(path=str(OUT / "account-passkeys-phone.png"), animations="disabled")
    desktop = new_context(**WIDTHS["desktop"]).new_page()
    desktop.goto("/login")
    expect(desktop.get_by_role("button", name=zh("Sign in with a passkey"))).to_be_visible()
    shoot(desktop, "login-passkey", "desktop")
