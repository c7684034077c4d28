"""Every page of the service, each reachable in one browser context that holds the state it
needs (signed in, signed in by code alone, a pending registration, code or second step, an
admin), made once per module: the axe-core test (test_axe.py) walks them all in both
languages and at both widths without repeating any sign-in.

A page is (name, who, how): `how` is a path to open, or a function doing what a person does
to reach it (a failed form post), using ids only so that it works in either language.
"""

import re

import pyotp

from authsvc import keys

from .fixtures import HARMLESS_CONSOLE, create_user
from .helpers import PASSWORD, Inbox, enter_code, expect, request_code, sign_in, solve_captcha, submit, unique, zh
from .stack import Api

def _wrong_password(page):
    page.goto("/login")
    page.locator("#login").fill(unique("nobody")[0])  # an unknown name: no account gets locked
    page.locator("#password").fill("not the password")
    if page.locator("#captcha").count():
        solve_captcha(page)
    page.locator("main form.card button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()


def _mismatched_passwords(page):
    page.goto("/account/password")
    page.locator("#current_password").fill(PASSWORD)
    page.locator("#new_password").fill("violet kettle mountain")
    page.locator("#confirm").fill("something else entirely")
    page.locator("main form.card button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()


def _wrong_code(page):
    page.goto("/reset/verify")
    page.locator("#code").fill("000000")
    page.locator("#new_password").fill("violet kettle mountain")
    page.locator("#confirm").fill("violet kettle mountain")
    page.locator("main form.card button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()


def _new_recovery_codes(page):
    page.goto("/account/recovery-codes")
    page.locator("main form.card button[type=submit]").click()
    expect(page.locator("#recovery-codes")).to_be_visible()


PAGES = [
    # anonymous, with a pending registration, code sign-in and reset in its session
    ("login", "anon", "/login"),
    ("login-wrong-password", "anon", _wrong_password),
    ("login-code", "anon", "/login/code"),
    ("register", "anon", "/register"),
    ("reset", "anon", "/reset"),
    ("register-verify", "anon", "/register/verify"),
    ("login-code-verify", "anon", "/login/code/verify"),
    ("reset-verify", "anon", "/reset/verify"),
    ("reset-verify-wrong-code", "anon", _wrong_code),
    ("logout-anonymous", "anon", "/logout"),
    ("not-found", "anon", "/no/such/page"),
    ("method-not-allowed", "anon", "/lang/en"),
    ("email-undo-invalid", "anon", "/email/undo/not-a-valid-link"),
    ("unsubscribe-invalid", "anon", "/notifications/unsubscribe/not-a-valid-link"),
    # signed in with the password (a second session, by code, in the list)
    ("account", "person", "/account"),
    ("account-password", "person", "/account/password"),
    ("account-password-mismatch", "person", _mismatched_passwords),
    ("account-email", "person", "/account/email"),
    ("account-email-verify", "person", "/account/email/verify"),
    ("account-app-setup", "person", "/account/app"),
    ("logout", "person", "/logout"),
    # signed in by an emailed code alone
    ("confirm-password", "by_code", "/account/confirm-password?next=/account/password"),
    # with an authenticator app
    ("account-with-app", "with_app", "/account"),
    ("recovery-codes", "with_app", "/account/recovery-codes"),
    ("recovery-codes-new", "with_app", _new_recovery_codes),
    ("app-remove", "with_app", "/account/app/remove"),
    # second steps
    ("second-step-code", "step_code", "/login/verify"),
    ("second-step-password", "step_password", "/login/verify"),
    ("second-step-app", "step_app", "/login/verify"),
    ("second-step-recovery", "step_app", "/login/verify?use=recovery"),
    # admin
    ("admin", "admin", "/admin"),
    ("admin-users", "admin", "/admin/users"),
    ("admin-user", "admin", "/admin/users/1"),
    ("admin-invites", "admin", "/admin/invites"),
    ("admin-audit", "admin", "/admin/audit"),
]


class People:
    """One context (and one tab) per state; JavaScript errors on any of them are collected."""

    def __init__(self, stack, chromium, second_factor_url, admin):
        self.stack, self.chromium, self.admin = stack, chromium, admin
        self.second_factor_url = second_factor_url
        self.inbox = Inbox(stack.smtp)
        self.api = Api(stack.url)
        self.contexts, self.pages, self.problems = [], {}, []
        self.showing = {}  # who -> (page name, language) on the tab now
        self.minor = set()  # (rule, impact) of the moderate and minor findings, shown at the end

    def tab(self, base_url=None):
        context = self.chromium.new_context(base_url=base_url or self.stack.url, locale="zh-CN")
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: {error}"))
        page.on("console", lambda message: message.type == "error"
                and not HARMLESS_CONSOLE.search(message.text)
                and self.problems.append(f"{page.url}: console: {message.text}"))
        return page

    def close(self):
        if self.minor:
            print("\naxe, moderate/minor findings (not asserted):", sorted(self.minor))
        for context in self.contexts:
            context.close()

    def forget_failures(self):
        self.stack.redis.delete(keys.ip_login_failures("127.0.0.1"))

    def next_code(self, email, before):
        return self.inbox.code(email, before + 1)

    def setup(self):
        self.forget_failures()
        # four accounts: each address gets at most three mails (SEND_LIMIT_PER_EMAIL)
        person, with_app, third, fourth = (create_user(self.api, self.inbox, prefix=f"axe{n}") for n in range(4))
        self.pages["person"] = self._signed_in(person)
        self.pages["by_code"] = self._by_code(person)
        self.pages["with_app"] = self._with_app(with_app)
        self.pages["anon"] = self._pending(third, with_app)
        self.pages["step_code"] = self._step_code(third)
        self.pages["step_password"] = self._step_password(fourth)
        self.pages["step_app"] = self._step_app(with_app)
        admin = self.tab()
        sign_in(admin, self.admin["email"], self.admin["password"])
        expect(admin).to_have_url(re.compile(r"/account$"))
        self.pages["admin"] = admin
        self.forget_failures()

    def _signed_in(self, person):
        page = self.tab()
        sign_in(page, person["username"])
        expect(page).to_have_url(re.compile(r"/account$"))
        _name, new_email = unique("axemoved")  # a pending change: /account/email/verify
        page.goto("/account/email")
        page.get_by_label(zh("New email")).fill(new_email)
        page.get_by_label(zh("Current password")).fill(PASSWORD)
        submit(page, zh("Send verification code"))
        expect(page).to_have_url(re.compile(r"/account/email/verify$"))
        return page

    def _by_code(self, person):
        page = self.tab()
        before = self.inbox.count(person["email"])
        request_code(page, "Sign in with an emailed code", person["email"], "Send sign-in code",
                     "/login/code/verify")
        enter_code(page, self.next_code(person["email"], before), zh("Sign in"))
        return page

    def _with_app(self, person):
        page = self.tab()
        sign_in(page, person["username"])
        page.goto("/account/app")
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        page.get_by_label(zh("Code from your authenticator app")).fill(pyotp.TOTP(secret).now())
        submit(page, zh("Turn on"))
        expect(page.locator("#recovery-codes")).to_be_visible()
        return page

    def _pending(self, person, other):
        page = self.tab()
        page.goto("/register")
        name, email = unique("axenew")
        page.get_by_label(zh("Email")).fill(email)
        page.get_by_label(zh("Username")).fill(name)
        page.get_by_label(zh("Password"), exact=True).fill(PASSWORD)
        page.get_by_label(zh("Repeat password")).fill(PASSWORD)
        solve_captcha(page)
        submit(page, zh("Send verification code"))
        expect(page).to_have_url(re.compile(r"/register/verify$"))
        request_code(page, "Sign in with an emailed code", person["email"], "Send sign-in code",
                     "/login/code/verify")
        request_code(page, "Forgot your password?", other["email"], "Send reset code", "/reset/verify")
        return page

    def _step_code(self, person):
        page = self.tab(self.second_factor_url)
        sign_in(page, person["username"])
        expect(page).to_have_url(re.compile(r"/login/verify$"))
        return page

    def _step_password(self, person):
        page = self.tab(self.second_factor_url)
        before = self.inbox.count(person["email"])
        request_code(page, "Sign in with an emailed code", person["email"], "Send sign-in code",
                     "/login/code/verify")
        enter_code(page, self.next_code(person["email"], before), zh("Sign in"))
        expect(page).to_have_url(re.compile(r"/login/verify$"))
        return page

    def _step_app(self, person):
        page = self.tab()
        sign_in(page, person["username"])
        expect(page).to_have_url(re.compile(r"/login/verify$"))
        return page
