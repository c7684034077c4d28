"""Registration as a person does it: form + captcha, the emailed code, the resend countdown."""

import re
import time

import pytest

from .helpers import (PASSWORD, captcha_loaded, enter_code, expect, flash, solve_captcha, submit, text_of, unique,
                      zh, zh_plural)
from .stack import CAPTCHA_TEXT

pytestmark = pytest.mark.browser
COOLDOWN = 3  # RESEND_COOLDOWN of the test server


def at_fraction(low, high):
    """Wait until the clock is between `low` and `high` into a second."""
    while not low <= time.time() % 1 < high:
        time.sleep(0.005)


def fill_registration(page, email, username, password=PASSWORD, confirm=None):
    page.goto("/register")
    expect(page.locator("h1")).to_have_text(zh("Create an account"))
    page.get_by_label(zh("Email")).fill(email)
    page.get_by_label(zh("Username")).fill(username)
    page.get_by_label(zh("Password"), exact=True).fill(password)
    page.get_by_label(zh("Repeat password")).fill(confirm or password)


def test_register_verify_with_resend_countdown(page, inbox):
    username, email = unique("reg")
    page.goto("/register")
    picture = page.request.get(captcha_loaded(page).get_attribute("src"))
    assert picture.headers["content-type"] == "image/png"
    assert picture.headers["cache-control"] == "no-store"
    fill_registration(page, email, username)  # a fresh page: that request replaced the captcha
    solve_captcha(page)
    submit(page, zh("Send verification code"))

    expect(page).to_have_url(re.compile(r"/register/verify$"))
    masked = email[0] + "***@example.com"
    expect(flash(page)).to_have_text(zh("We sent a 6-digit code to %(email)s.", email=masked))
    expect(page.get_by_text(zh("Enter the 6-digit code we sent to %(email)s.", email=masked))).to_be_visible()
    first_code = inbox.code(email, 1)

    # The resend button counts down while it is disabled, then becomes usable.
    resend = page.locator("form.resend button")
    expect(resend).to_be_disabled()
    counting = re.compile("^" + re.escape(zh("resend in %(s)s s", s="{s}")).replace(r"\{s\}", r"(\d+)") + "$")
    label = resend.inner_text().strip()
    first = int(counting.fullmatch(label).group(1))
    assert 1 <= first <= COOLDOWN, label
    expect(resend).to_have_text(counting)
    if first > 1:
        expect(resend).to_have_text(zh("resend in %(s)s s", s=first - 1), timeout=2500)
    expect(resend).to_be_enabled(timeout=(COOLDOWN + 2) * 1000)
    expect(resend).to_have_text(zh("send a new code"))
    resend.click()
    expect(flash(page)).to_have_text(zh("A new code is on its way. The previous code no longer works."))
    expect(page.locator("form.resend button")).to_be_disabled()  # the countdown starts again
    second_code = inbox.code(email, 2)

    if first_code != second_code:
        # The superseded code is refused. (API.md promises `code_expired` for a superseded
        # code; the app answers "wrong code, 4 tries left" and counts a try: reported.)
        enter_code(page, first_code, zh("Confirm and create account"))
        expect(page).to_have_url(re.compile(r"/register/verify$"))
        expect(page.locator(".flash.error")).to_be_visible()
    enter_code(page, second_code, zh("Confirm and create account"))
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(flash(page)).to_have_text(zh("Welcome, %(name)s! Your account is ready.", name=username))
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(email)
    expect(facts).to_contain_text(username)


def test_resend_is_not_offered_before_the_server_allows_it(new_context, inbox):
    # Without JavaScript the button's state is exactly the server's `wait`; the countdown
    # script starts from the same figure, so it ends early by the same amount.
    page = new_context(javascript=False).new_page()
    username, email = unique("early")
    fill_registration(page, email, username)
    solve_captcha(page)
    at_fraction(0.55, 0.57)  # the send happens late in a second ...
    started = time.time()
    with page.expect_response(lambda r: r.request.method == "POST"):
        submit(page, zh("Send verification code"))
    if int(time.time()) != int(started):
        pytest.skip("the send was not answered within its second")  # its second is unknown
    # ... and the person reloads the code page just after the cooldown's last full second.
    while time.time() < int(started) + COOLDOWN + 0.02:
        time.sleep(0.005)
    page.reload()
    resend = page.locator("form.resend button")
    if resend.is_enabled():
        resend.click()
        expect(flash(page)).to_have_text(
            zh("A new code is on its way. The previous code no longer works."), timeout=1000)


def test_register_form_errors_are_shown_on_the_fields(page):
    username, email = unique("reg")
    fill_registration(page, email, username, confirm="something else entirely")
    page.locator("#captcha").fill("WRONG")
    submit(page, zh("Send verification code"))
    expect(page.locator(".field.has-error")).not_to_have_count(0)
    expect(page.get_by_text(zh("The two passwords do not match."))).to_be_visible()
    # the typed values stay, the passwords do not
    expect(page.get_by_label(zh("Email"))).to_have_value(email)
    expect(page.get_by_label(zh("Password"), exact=True)).to_have_value("")


def test_new_captcha_picture_replaces_the_old_one(page):
    page.goto("/register")
    image = captcha_loaded(page)
    before = image.get_attribute("src")
    page.locator("#captcha").fill("ABC")
    with page.expect_response(lambda r: "/captcha.png?t=" in r.url) as fresh:
        page.get_by_role("button", name=zh("New picture")).click()
    assert fresh.value.status == 200
    expect(image).not_to_have_attribute("src", before)
    captcha_loaded(page)
    expect(page.locator("#captcha")).to_have_value("")  # cleared for the new picture
    expect(page.locator("#captcha")).to_be_focused()


def test_wrong_code_counts_down_the_tries(page, inbox):
    username, email = unique("reg")
    fill_registration(page, email, username)
    solve_captcha(page)
    submit(page, zh("Send verification code"))
    code = inbox.code(email, 1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    enter_code(page, wrong, zh("Confirm and create account"))
    expect(page.locator(".flash.error")).to_have_text(
        zh_plural("The code is wrong; %(num)d try left.", "The code is wrong; %(num)d tries left.", 4))
    enter_code(page, code, zh("Confirm and create account"))
    expect(page).to_have_url(re.compile(r"/account$"))


def test_register_and_verify_without_javascript(new_context, inbox):
    page = new_context(javascript=False).new_page()
    username, email = unique("nojs")
    fill_registration(page, email, username)
    captcha_loaded(page)
    page.locator("#captcha").fill(CAPTCHA_TEXT.lower())  # case does not matter
    submit(page, zh("Send verification code"))
    expect(page).to_have_url(re.compile(r"/register/verify$"))
    # Without the script the server renders the cooldown: disabled, with the seconds left.
    resend = page.locator("form.resend button")
    expect(resend).to_be_disabled()
    expect(resend).to_contain_text(re.compile(r"\d"))
    time.sleep(COOLDOWN + 0.2)
    page.reload()
    expect(resend).to_be_enabled()
    expect(resend).to_have_text(zh("send a new code"))
    enter_code(page, inbox.code(email, 1), zh("Confirm and create account"))
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.locator("dl.facts")).to_contain_text(username)


def test_a_second_registration_for_the_address_cannot_take_over_the_first(new_context, inbox):
    """The owner starts; a stranger starts for the same address in another browser; the
    owner's code still makes the owner's account, and the stranger's registration is void."""
    owner_page, stranger_page = new_context().new_page(), new_context().new_page()
    owner_name, email = unique("own")
    stranger_name = owner_name.replace("own", "evl")
    for index, (page, name) in enumerate(((owner_page, owner_name), (stranger_page, stranger_name))):
        if index:
            time.sleep(COOLDOWN + 0.2)  # the address's resend cooldown applies to every start
        fill_registration(page, email, name)
        solve_captcha(page)
        submit(page, zh("Send verification code"))
        expect(page).to_have_url(re.compile(r"/register/verify$"))
    first, second = inbox.message(email, 1), inbox.message(email, 2)
    assert zh("You are creating the account %(name)s.", name=owner_name) in text_of(first)
    assert zh("You are creating the account %(name)s.", name=stranger_name) in text_of(second)

    enter_code(owner_page, inbox.code(email, 1), zh("Confirm and create account"))
    expect(owner_page).to_have_url(re.compile(r"/account$"))
    expect(owner_page.locator("dl.facts")).to_contain_text(owner_name)

    enter_code(stranger_page, inbox.code(email, 2), zh("Confirm and create account"))
    expect(stranger_page).to_have_url(re.compile(r"/register/verify$"))
    expect(stranger_page.locator(".flash.error")).to_have_text(
        zh("This email address is already registered. Please sign in."))
