"""The proof-of-work captcha (<altcha-widget>, CAPTCHA_MODE pow and both) as people meet it:
axe-core on every page that shows it, while the widget works and once it is verified, in both
languages and at both widths; what the keyboard and a screen reader meet (focus order, nothing
focusable unseen, the status line, the no-script text); and a registration done by keyboard
alone on a phone-sized screen. One gunicorn per mode on the shared stack (captcha_mode_url);
each page is loaded once per mode and language, both widths and both states share that load."""

import re

import pytest

from authsvc import keys

from .axe import BAD, DUPLICATE_IDS, WIDTHS, report, run_axe
from .helpers import PASSWORD, en, expect, unique, zh
from .stack import CAPTCHA_TEXT, Api

pytestmark = pytest.mark.browser
MODES = ["pow", "both"]
CHALLENGE = "**/captcha/challenge"
WAITING = "Your browser is finishing a short automatic check; the form will be sent by itself."
FAILED = "The automatic check could not be done. Reload the page to try again."
NO_CHECK = ("The automatic check of your browser did not come with the form. It needs JavaScript: "
            "check that it is on, reload the page and send the form again.")
NO_SCRIPT = "This form needs JavaScript: your browser does a short automatic check before it is sent."
# The element that has focus now, and whether a person can see it where it is.
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const r = e.getBoundingClientRect();
  const seen = e.checkVisibility({visibilityProperty: true, opacityProperty: true});
  return {key: e.id || e.getAttribute("name") || (e.tagName + ":" + (e.textContent || "").trim()).slice(0, 40),
          inWidget: !!e.closest("altcha-widget"), inForm: !!e.closest("main form.card"),
          visible: seen && r.width >= 8 && r.height >= 8 && r.bottom > 0 && r.right > 0
                   && r.top < innerHeight && r.left < innerWidth};
}"""
# The controls of the page's form a person can reach, in document order.
TABBABLE = """() => [...document.querySelectorAll("main form.card :is(input, button, select, textarea, a[href], [tabindex])")]
  .filter(e => !e.disabled && e.tabIndex >= 0 && e.type !== "hidden" && e.checkVisibility())
  .map(e => e.id || e.getAttribute("name") || (e.tagName + ":" + (e.textContent || "").trim()).slice(0, 40))"""


def _login_after_failures(page):
    """The sign-in page once it asks for a captcha: three wrong passwords from this network."""
    api = Api(page.context.base_url)
    for _ in range(3):
        status, _body = api.post("/sessions", {"login": unique("nobody")[0], "password": "not the password"})
        assert status == 401, status
    page.goto("/login")


PAGES = {"register": "/register", "reset": "/reset", "login-code": "/login/code", "login-captcha": _login_after_failures}


@pytest.fixture
def open_page(new_context, captcha_mode_url, stack):
    """open_page(mode, lang, width=1280, javascript=True) -> a fresh tab of that mode's server."""
    def factory(mode, lang, width=1280, javascript=True):
        base = captcha_mode_url(mode)
        context = new_context(locale="zh-CN" if lang == "zh" else "en", javascript=javascript, base_url=base,
                              viewport=WIDTHS[width])
        context.base_url = base
        context.add_cookies([{"name": "lang", "value": lang, "url": base + "/"}])
        return context.new_page()

    stack.redis.delete(keys.ip_login_failures("127.0.0.1"))
    yield factory
    stack.redis.delete(keys.ip_login_failures("127.0.0.1"))  # the sign-in page of other tests stays plain


def _go(page, name):
    how = PAGES[name]
    how(page) if callable(how) else page.goto(how)
    expect(page.locator("main altcha-widget")).to_have_count(1)


def _state(page):
    return page.locator("altcha-widget .altcha")


def _axe_at_both_widths(page, label, lang):
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        violations = [v for v in run_axe(page) if v["impact"] in BAD]
        assert not violations, report(label, lang, width, violations)
        assert page.evaluate(DUPLICATE_IDS) == [], f"ids used twice on {label}"


def _walk_by_keyboard(page):
    """Tab round the page (at 390 px): focus never enters the widget, every stop is in sight,
    and the form's controls come in the order they read (no positive tabindex)."""
    expect(page.locator("[tabindex]:not([tabindex='-1']):not([tabindex='0'])")).to_have_count(0)
    page.locator(".skip-link").focus()  # the first stop, as on a fresh page (axe moved the starting point)
    reached, seen = [], set()
    for step in range(60):
        if step:
            page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        if now is None or now["key"] in seen:
            break  # round the page and back to the start
        seen.add(now["key"])
        assert not now["inWidget"], f"focus went into the widget: {now}"
        assert now["visible"], f"focused but not seen: {now}"
        if now["inForm"]:
            reached.append(now["key"])
    assert reached == page.evaluate(TABBABLE), "the form's controls in another order than they read"


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", list(PAGES))
@pytest.mark.parametrize("mode", MODES)
def test_no_serious_violation_while_working_and_once_verified(open_page, mode, name, lang):
    """axe at both widths in both states; then (zh, 390 px) the keyboard round the page."""
    page = open_page(mode, lang)
    held = []
    page.route(CHALLENGE, lambda route: held.append(route))  # the work cannot end before the challenge is let through
    _go(page, name)
    expect(_state(page)).to_have_attribute("data-state", "verifying")
    _axe_at_both_widths(page, f"{name} ({mode}, working)", lang)
    for route in held:
        route.continue_()
    page.unroute(CHALLENGE)
    expect(_state(page)).to_have_attribute("data-state", "verified", timeout=20_000)
    expect(page.locator('input[name="captcha_pow"]')).not_to_have_value("")
    _axe_at_both_widths(page, f"{name} ({mode}, verified)", lang)
    if lang == "zh":
        page.set_viewport_size(WIDTHS[390])
        _walk_by_keyboard(page)


@pytest.mark.parametrize("mode", MODES)
def test_a_form_sent_before_the_work_is_done_says_so_and_goes_by_itself(open_page, mode):
    page = open_page(mode, "zh")
    held = []
    page.route(CHALLENGE, lambda route: held.append(route))
    page.goto("/login/code")
    status = page.locator("main form.card [role=status][data-pow-status]")
    expect(status).to_have_count(1)
    expect(status).to_have_text("")  # nothing said while nobody waits for it
    page.locator("#email").fill(unique("early")[1])
    if mode == "both":
        page.locator("#captcha").fill(CAPTCHA_TEXT)
    page.locator("#email").press("Enter")
    expect(status).to_have_text(zh(WAITING))
    expect(status).to_be_visible()
    for route in held:
        route.continue_()
    page.unroute(CHALLENGE)
    expect(page).to_have_url(re.compile(r"/login/code/verify$"), timeout=20_000)


def test_a_check_that_cannot_be_done_is_said(open_page):
    page = open_page("pow", "en")
    page.route(CHALLENGE, lambda route: route.fulfill(status=429, content_type="application/json",
                                                      body='{"error": {"code": "rate_limited", "message": "Too many"}}'))
    page.goto("/reset")
    expect(_state(page)).to_have_attribute("data-state", "error")
    expect(page.locator("main form.card [role=status][data-pow-status]")).to_have_text(en(FAILED))


@pytest.mark.parametrize("mode", MODES)
def test_without_scripts_the_form_says_first_that_it_needs_them(open_page, mode):
    page = open_page(mode, "zh", javascript=False)
    page.goto("/register")
    notice = page.locator("main form.card noscript p")  # (Playwright's text search skips noscript)
    expect(notice).to_have_text(zh(NO_SCRIPT))
    expect(notice).to_be_visible()
    assert notice.evaluate("(n, f) => !!(n.compareDocumentPosition(f) & Node.DOCUMENT_POSITION_FOLLOWING)",
                           page.locator("#email").element_handle()), "the notice comes after the fields it concerns"


def test_without_scripts_the_refusal_names_the_check_and_links_nothing_missing(open_page):
    """CAPTCHA_MODE=pow has no picture: the error must not ask for one, nor link a field that
    is not on the page."""
    page = open_page("pow", "zh", javascript=False)
    page.goto("/reset")
    page.locator("#email").fill(unique("noscript")[1])
    page.locator("main form.card button[type=submit]").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text(zh(NO_CHECK))
    expect(summary).not_to_contain_text(zh("Please enter the characters shown in the picture."))
    for target in summary.locator("a[href^='#']").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        expect(page.locator(target), f"the summary links {target}, which is not on the page").to_have_count(1)


def test_registration_by_keyboard_alone_on_a_phone(open_page, inbox):
    """CAPTCHA_MODE=both at 390 px: Tab, type, Enter; the widget works by itself; the code
    comes by mail; the account is made. Every stop of the focus is in sight."""
    page = open_page("both", "zh", width=390)
    username, email = unique("kbd")
    typed = {"email": email, "username": username, "password": PASSWORD, "confirm": PASSWORD, "captcha": CAPTCHA_TEXT}
    page.goto("/login")
    expect(page.get_by_role("link", name=zh("Create an account")).first).to_be_visible()

    def tab_to(wanted, limit=40):
        for _ in range(limit):
            page.keyboard.press("Tab")
            now = page.evaluate(FOCUSED)
            assert now is None or now["visible"], f"focused but not seen: {now}"
            if now and wanted(now):
                return now
        raise AssertionError("the keyboard never reached it")

    tab_to(lambda now: page.evaluate("document.activeElement.getAttribute('href')") == "/register")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/register$"))
    for field in ("email", "username", "password", "confirm", "captcha"):
        tab_to(lambda now: now["key"] == field)
        page.keyboard.type(typed[field])
    tab_to(lambda now: now["key"].startswith("BUTTON:" + zh("Send verification code")))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/register/verify$"), timeout=20_000)
    code = inbox.code(email, 1)
    tab_to(lambda now: now["key"] == "code")
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.locator("dl.facts")).to_contain_text(username)
