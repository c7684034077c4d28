"""Fixtures of the browser suite (imported by conftest.py only when Chromium is available)."""

import re

import pytest
from playwright.sync_api import expect, sync_playwright

from authsvc import keys

from .availability import CHROMIUM
from .helpers import PASSWORD, Inbox, unique
from .stack import ADMIN, CAPTCHA_TEXT, Api, Stack

__all__ = ["stack", "second_factor_url", "captcha_mode_url", "inbox", "chromium", "new_context", "page", "api",
           "make_user", "user", "admin", "fresh_ip"]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Console noise that is not a fault of the page: error statuses the tests provoke on purpose
# (400, 401, 403, 423) and the missing favicon.
HARMLESS_CONSOLE = re.compile(r"Failed to load resource: the server responded with a status of (40\d|42\d)")


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """Redis, SMTP, the migrated database, the admin, a mail-worker, one gunicorn."""
    running = Stack(tmp_path_factory.mktemp("browser-stack"))
    try:
        running.start()
    except BaseException:
        running.stop()
        raise
    yield running
    running.stop()


@pytest.fixture(scope="session")
def second_factor_url(stack):
    """A second gunicorn on the same data with LOGIN_SECOND_FACTOR=always."""
    return stack.start_web("web-2fa", LOGIN_SECOND_FACTOR="always")


@pytest.fixture(scope="session")
def captcha_mode_url(stack):
    """captcha_mode_url("pow" | "both") -> the URL of a gunicorn on the same data in that
    CAPTCHA_MODE with production's proof-of-work settings. Both are started together (they
    boot in parallel) on first use, and shared by every module (test_captcha, test_axe_captcha)."""
    started = {}

    def url(mode):
        if not started:
            booting = {m: stack.spawn_web(f"web-{m}", CAPTCHA_MODE=m, CAPTCHA_POW_COST="50000",
                                          CAPTCHA_POW_MAX="70") for m in ("pow", "both")}
            started.update({m: stack.wait_ready(process) for m, process in booting.items()})
        return started[mode]

    return url


@pytest.fixture(scope="session")
def inbox(stack):
    return Inbox(stack.smtp)


@pytest.fixture(scope="session")
def chromium():
    expect.set_options(timeout=10_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(stack, chromium):
    """new_context(locale="zh-CN", javascript=True, base_url=None, **options) -> BrowserContext.

    Each context is one person's browser (its own cookies). JavaScript errors and CSP
    violations on any of its pages fail the test.
    """
    made, problems = [], []

    def factory(locale="zh-CN", javascript=True, base_url=None, **options):
        context = chromium.new_context(base_url=base_url or stack.url, locale=locale,
                                       java_script_enabled=javascript, **options)
        context.set_default_timeout(10_000)

        def watch(page):
            page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
            page.on("console", lambda message: message.type == "error"
                    and not HARMLESS_CONSOLE.search(message.text)
                    and problems.append(f"{page.url}: console: {message.text}"))

        context.on("page", watch)
        made.append(context)
        return context

    yield factory
    for context in made:
        context.close()
    assert not problems, "errors in the browser:\n" + "\n".join(problems)


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.fixture
def api(stack):
    return Api(stack.url)


def create_user(api, inbox, password=PASSWORD, prefix="u"):
    """A registered and confirmed account (JSON API): {"email", "username", "password"}."""
    username, email = unique(prefix)
    status, body = api.post("/captcha")
    assert status == 201, body
    status, body = api.post("/registrations", {
        "email": email, "username": username, "password": password,
        "captcha_id": body["captcha_id"], "captcha_answer": CAPTCHA_TEXT})
    assert status == 202, body
    status, body = api.post("/registrations/confirm", {"email": email, "code": inbox.code(email, 1),
                                                       "registration_id": body["registration_id"]})
    assert status == 201, body
    return {"email": email, "username": username, "password": password}


@pytest.fixture
def make_user(api, inbox):
    """make_user() -> {"email", "username", "password"}: registered and confirmed (JSON API)."""
    def factory(password=PASSWORD, prefix="u"):
        return create_user(api, inbox, password, prefix)

    return factory


@pytest.fixture
def user(make_user):
    return make_user()


@pytest.fixture
def admin():
    return dict(ADMIN)


@pytest.fixture
def fresh_ip(stack):
    """Forget recent password failures from 127.0.0.1 (every test shares that address), so a
    test sees the captcha appear after its own failures, not after another test's."""
    stack.redis.delete(keys.ip_login_failures("127.0.0.1"))
