"""Issue 14, "Codes": the code pages' live countdowns in Chromium — the code's life counting
down (role=timer, silent) until a status line says once that it expired, and the resend
button disabled with the cooldown's seconds until the server would take the send."""

import re
import time

import pytest

from .helpers import expect, flash, sign_in, solve_captcha, submit, zh

pytestmark = pytest.mark.browser
CODE_LIFE = 6  # CODE_TTL_LOGIN of the short-lived server below
COOLDOWN = 3  # RESEND_COOLDOWN of every test server
M_SS = re.compile(r"^0:0[0-9]$")


@pytest.fixture(scope="module")
def short_codes_url(stack):
    """A gunicorn on the same data whose sign-in codes live CODE_LIFE seconds."""
    return stack.start_web("web-short-codes", CODE_TTL_LOGIN=CODE_LIFE)


def _request_code(page, email):
    page.goto("/login/code")
    page.get_by_label(zh("Email")).fill(email)
    solve_captcha(page)
    submit(page, zh("Send sign-in code"))
    expect(page).to_have_url(re.compile(r"/login/code/verify$"))


def test_the_code_counts_down_and_says_once_when_it_expired(new_context, short_codes_url, user):
    page = new_context(base_url=short_codes_url).new_page()
    started = time.time()
    _request_code(page, user["email"])
    clock = page.locator(".code-clock .clock")
    expect(clock).to_have_attribute("role", "timer")  # a timer is never announced by itself
    assert clock.get_attribute("aria-live") is None
    expect(clock).to_have_text(M_SS)
    first = clock.inner_text()
    expect(clock).not_to_have_text(first)  # it runs
    status = page.locator("p.code-expired")
    expect(status).to_have_attribute("role", "status")
    expect(status).to_have_text("")  # nothing to announce while the code works

    # The resend button: disabled, counting down the cooldown, then usable.
    resend = page.locator("form.resend button")
    expect(resend).to_be_disabled()
    expect(resend).to_have_text(re.compile(r"^\d 秒后可重新发送$"))
    expect(resend).to_be_enabled(timeout=(COOLDOWN + 1) * 1000)
    expect(resend).to_have_text(zh("send a new code"))
    assert time.time() - started >= COOLDOWN - 1  # not before the server's wait

    # The code's end: the clock line goes, the status line says it once.
    expect(status).to_have_text(zh("This code has expired. Please request a new one."),
                                timeout=(CODE_LIFE + 2) * 1000)
    expect(page.locator(".code-clock")).to_be_hidden()
    assert time.time() - started >= CODE_LIFE - 1.5

    # "send a new code" opens the request page with the address filled in.
    resend.click()
    expect(page).to_have_url(re.compile(r"/login/code\??$"))  # a GET form without fields
    expect(page.get_by_label(zh("Email"))).to_have_value(user["email"])


def test_the_second_step_counts_down_before_offering_a_resend(new_context, second_factor_url, user, inbox,
                                                              fresh_ip):
    """Old page: "send a new code" was offered at once and answered 429."""
    page = new_context(base_url=second_factor_url).new_page()
    sign_in(page, user["username"])
    expect(page).to_have_url(re.compile(r"/login/verify$"))
    expect(page.locator(".code-clock .clock")).to_have_text(re.compile(r"^[45]:[0-5]\d$"))  # 300 s
    resend = page.locator("form.resend button")
    expect(resend).to_be_disabled()
    expect(resend).to_be_enabled(timeout=(COOLDOWN + 1) * 1000)
    resend.click()
    expect(flash(page)).to_have_text(zh("A new code is on its way. The previous code no longer works."))
    expect(page.locator("form.resend button")).to_be_disabled()  # the next cooldown


def test_without_javascript_the_page_states_the_minutes(new_context, user):
    page = new_context(javascript=False).new_page()
    _request_code(page, user["email"])
    expect(page.locator(".code-clock")).to_have_text(re.compile(
        re.escape(zh("Time left on this code:")) + r"\s+5 分钟"))
    expect(page.locator("form.resend button")).to_be_disabled()
    page.locator("details.code-help summary").click()
    expect(page.locator("details.code-help")).to_contain_text("noreply@accounts.example.com")
