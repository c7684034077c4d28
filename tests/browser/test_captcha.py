"""The captcha as a person meets it (issue 14): in CAPTCHA_MODE=both the proof of work is
done by the page itself, the picture can be renewed by a button, and a wrong answer leaves
an empty field for the next picture."""

import base64
import json
import re

import pytest

from .helpers import captcha_loaded, expect, flash, solve_captcha, submit, unique, zh
from .stack import CAPTCHA_TEXT

pytestmark = pytest.mark.browser
POW_TIMINGS = []  # ms the widget took per solution, printed for bench/RESULTS.md


@pytest.fixture
def both_url(captcha_mode_url):
    """A gunicorn in CAPTCHA_MODE=both with the production's proof-of-work settings."""
    return captcha_mode_url("both")


def test_both_mode_the_page_does_the_work_by_itself_and_the_code_is_sent(new_context, both_url):
    page = new_context(base_url=both_url).new_page()
    page.goto("/login/code")
    widget = page.locator("altcha-widget")
    expect(widget).to_have_count(1)
    expect(widget.locator(".altcha")).to_be_hidden()  # nothing to see or click: invisible to people
    solved = page.locator('input[name="captcha_pow"]')
    expect(solved).to_have_count(1, timeout=20_000)
    expect(solved).not_to_have_value("", timeout=20_000)  # done on load, before any click
    payload = json.loads(base64.b64decode(solved.input_value()))
    POW_TIMINGS.append(payload["solution"].get("time"))
    print(f"\nproof of work in Chromium: {payload['solution'].get('time')} ms, counter {payload['solution']['counter']}")
    _username, email = unique("both")
    page.get_by_label(zh("Email")).fill(email)
    solve_captcha(page)
    submit(page, zh("Send sign-in code"))
    expect(page).to_have_url(re.compile(r"/login/code/verify$"))


def test_both_mode_a_form_sent_at_once_waits_for_the_work(new_context, both_url):
    """A person (or a password manager) quicker than the work: the form goes once it is done."""
    page = new_context(base_url=both_url).new_page()
    page.goto("/login/code")
    _username, email = unique("quick")
    page.get_by_label(zh("Email")).fill(email)
    page.locator("#captcha").fill(CAPTCHA_TEXT)
    submit(page, zh("Send sign-in code"))
    expect(page).to_have_url(re.compile(r"/login/code/verify$"), timeout=20_000)


def test_the_refresh_button_draws_a_new_picture(new_context, both_url):
    page = new_context(base_url=both_url).new_page()
    page.goto("/login/code")
    image = captcha_loaded(page)
    before = image.evaluate("img => { const c = document.createElement('canvas'); c.width = img.naturalWidth;"
                            " c.height = img.naturalHeight; c.getContext('2d').drawImage(img, 0, 0);"
                            " return c.toDataURL(); }")
    page.locator("#captcha").fill("XXXX")
    button = page.get_by_role("button", name=zh("New picture"))
    expect(page.get_by_role("link", name=zh("New picture"))).to_have_count(0)  # the no-script link gives way
    button.focus()
    with page.expect_response(lambda r: "/captcha.png?t=" in r.url) as fresh:
        page.keyboard.press("Enter")  # by keyboard
    assert fresh.value.status == 200
    captcha_loaded(page)
    after = image.evaluate("img => { const c = document.createElement('canvas'); c.width = img.naturalWidth;"
                           " c.height = img.naturalHeight; c.getContext('2d').drawImage(img, 0, 0);"
                           " return c.toDataURL(); }")
    assert after != before  # another picture, not the same one reloaded
    expect(page.locator("#captcha")).to_have_value("")
    expect(page.locator("#captcha")).to_be_focused()
    expect(page.locator("[data-captcha-status]")).to_have_text(zh("A new picture is shown."))


def test_without_scripts_a_link_reloads_the_page_with_a_new_picture(new_context):
    page = new_context(javascript=False).new_page()
    page.goto("/login/code")
    link = page.get_by_role("link", name=zh("New picture"))
    with page.expect_response(lambda r: r.url.endswith("/captcha.png")) as fresh:
        link.click()
    assert fresh.value.status == 200
    expect(page).to_have_url(re.compile(r"/login/code$"))


def test_a_wrong_answer_empties_the_field(page):
    page.goto("/login/code")
    _username, email = unique("wrong")
    page.get_by_label(zh("Email")).fill(email)
    captcha_loaded(page)
    page.locator("#captcha").fill("XXXX")
    submit(page, zh("Send sign-in code"))
    expect(flash(page).or_(page.locator(".errors"))).not_to_have_count(0)
    expect(page.get_by_label(zh("Email"))).to_have_value(email)  # what was right stays
    expect(page.locator("#captcha")).to_have_value("")  # the wrong text is not put back
    captcha_loaded(page)  # with a new picture to read
