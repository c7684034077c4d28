"""The admin area in the browser: the CLI-made admin, invite codes, the audit log filters."""

import re
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest

from .helpers import expect, flash, sign_in, submit, zh

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_page(page, admin, fresh_ip):
    sign_in(page, admin["email"], admin["password"])
    expect(page).to_have_url(re.compile(r"/account$"))
    page.locator("header").get_by_role("link", name=zh("Admin")).click()
    expect(page).to_have_url(re.compile(r"/admin$"))
    return page


def test_admin_overview(admin_page):
    page = admin_page
    expect(page.locator("h1")).to_have_text(zh("Admin"))
    for label in ("Registrations", "Sign-ins", "Codes issued", "Codes mailed", "Success rate", "Waiting in the queue",
                  "Primary server"):
        expect(page.locator(".stat", has_text=zh(label)).first).to_be_visible()
    nav = page.locator("main ul.links")
    for label in ("Overview", "Users", "Invite codes", "Audit log"):
        expect(nav.get_by_role("link", name=zh(label))).to_be_visible()


def test_admin_creates_and_disables_invite_codes(admin_page):
    page = admin_page
    page.locator("main").get_by_role("link", name=zh("Invite codes")).click()
    expect(page).to_have_url(re.compile(r"/admin/invites$"))
    page.get_by_label(zh("How many codes")).fill("2")
    page.get_by_label(zh("Uses per code")).fill("3")
    submit(page, zh("Create"))
    expect(flash(page)).to_have_text(zh("%(num)d invite codes were created.", num=2))
    rows = page.locator("table.list tbody tr")
    expect(rows.filter(has_text="0 / 3")).to_have_count(2)

    chosen = f"WELCOME{secrets.token_hex(3).upper()}"
    page.get_by_label(zh("How many codes")).fill("1")
    page.get_by_label(zh("Uses per code")).fill("5")
    page.get_by_label(zh("Choose the code yourself (optional)")).fill(chosen)
    submit(page, zh("Create"))
    expect(flash(page)).to_have_text(zh("%(num)d invite codes were created.", num=1))
    row = rows.filter(has=page.locator("code", has_text=chosen))
    expect(row).to_contain_text("0 / 5")
    expect(row.locator(".badge")).to_have_text(zh("active"))

    page.once("dialog", lambda dialog: dialog.accept())  # a danger action asks first
    row.get_by_role("button", name=zh("Disable")).click()
    expect(flash(page)).to_have_text(zh("The invite code was disabled."))
    row = page.locator("table.list tbody tr").filter(has=page.locator("code", has_text=chosen))
    expect(row.locator(".badge")).to_have_text(zh("disabled"))
    expect(row.get_by_role("button", name=zh("Disable"))).to_have_count(0)


def test_invite_list_shows_the_expiry_day_that_was_entered(admin_page):
    page = admin_page
    page.goto("/admin/invites")
    chosen = f"UNTIL{secrets.token_hex(3).upper()}"
    page.get_by_label(zh("Expires on (optional)")).fill("2099-12-31")
    page.get_by_label(zh("Choose the code yourself (optional)")).fill(chosen)
    submit(page, zh("Create"))
    expect(flash(page)).to_have_text(zh("%(num)d invite codes were created.", num=1))
    row = page.locator("table.list tbody tr").filter(has=page.locator("code", has_text=chosen))
    expect(row).to_contain_text("2099-12-31", timeout=1000)


def test_audit_log_filters(admin_page, new_context, user):
    stranger = new_context().new_page()
    sign_in(stranger, user["username"], "definitely the wrong password")
    expect(stranger.locator(".flash.error")).to_be_visible()

    page = admin_page
    page.locator("main").get_by_role("link", name=zh("Audit log")).click()
    expect(page).to_have_url(re.compile(r"/admin/audit$"))
    page.get_by_label(zh("Event")).fill("login.failure")
    page.get_by_label(zh("Email"), exact=True).fill(user["email"])
    page.locator("form.filters").get_by_role("button", name=zh("Filter")).click()
    expect(page).to_have_url(re.compile(r"/admin/audit\?"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["event"] == ["login.failure"] and query["email"] == [user["email"]]

    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("login.failure")
    expect(rows).to_contain_text(user["email"])
    expect(rows).to_contain_text(zh("Sign-in failed"))  # the event by name, details as labelled fields
    expect(rows.locator("dl.detail dt", has_text=zh("Reason"))).to_be_visible()
    expect(rows.locator("dl.detail dd", has_text=zh("wrong password"))).to_be_visible()
    expect(page.get_by_text(zh("%(num)d events", num=1))).to_be_visible()
    # the filter fields keep their values, and the export follows the filter
    expect(page.get_by_label(zh("Event"))).to_have_value("login.failure")
    export = page.get_by_role("link", name=zh("Export CSV"))
    exported = parse_qs(urlsplit(export.get_attribute("href")).query)
    assert exported == {"format": ["csv"], "event": ["login.failure"], "email": [user["email"]]}
    csv = page.request.get(export.get_attribute("href"))
    assert csv.ok and csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text().strip().splitlines()) == 2  # header + the one event

    # A prefix filter: the registration events of this user (requested, confirmed), nothing else.
    page.get_by_label(zh("Event")).fill("register.")
    page.locator("form.filters").get_by_role("button", name=zh("Filter")).click()
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("register.confirmed")
    expect(rows.nth(1)).to_contain_text("register.requested")
    for text in rows.all_inner_texts():
        assert user["email"] in text

    page.get_by_label(zh("Event")).fill("no.such.event")
    page.locator("form.filters").get_by_role("button", name=zh("Filter")).click()
    expect(rows).to_have_text([zh("No events match.")])


def test_admin_pages_are_closed_to_other_users(page, user, fresh_ip):
    sign_in(page, user["username"])
    expect(page).to_have_url(re.compile(r"/account$"))
    response = page.goto("/admin/invites")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text(zh("You do not have permission to do this."))


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def test_invite_codes_copy_with_one_click(new_context, admin, fresh_ip):
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    sign_in(page, admin["email"], admin["password"])
    page.goto("/admin/invites")
    chosen = f"COPY{secrets.token_hex(3).upper()}"
    page.get_by_label(zh("Choose the code yourself (optional)")).fill(chosen)
    submit(page, zh("Create"))
    row = page.locator("table.list tbody tr").filter(has=page.locator("code", has_text=chosen))
    button = row.get_by_role("button", name=zh("Copy invite code %(code)s", code=chosen))
    expect(button).to_be_visible()
    button.focus()
    page.keyboard.press("Enter")  # by keyboard, as by mouse
    expect(button).to_have_text(zh("Copied"))
    expect(page.locator("#copy-status")).to_have_text(zh("Copied"))  # said to screen readers
    assert page.evaluate("navigator.clipboard.readText()") == chosen


def test_without_javascript_the_code_is_plain_text(new_context, admin, fresh_ip):
    page = new_context(javascript=False).new_page()
    sign_in(page, admin["email"], admin["password"])
    page.goto("/admin/invites")
    chosen = f"PLAIN{secrets.token_hex(3).upper()}"
    page.get_by_label(zh("Choose the code yourself (optional)")).fill(chosen)
    submit(page, zh("Create"))
    row = page.locator("table.list tbody tr").filter(has=page.locator("code", has_text=chosen))
    expect(row.locator("code")).to_have_text(chosen)
    expect(row.get_by_role("button", name=zh("Copy invite code %(code)s", code=chosen))).to_be_hidden()


@pytest.mark.parametrize("path", ["/admin/users", "/admin/invites", "/admin/audit", "/admin/ip-blocks"])
def test_admin_tables_fit_a_390_px_phone_as_labelled_cards(new_context, admin, user, fresh_ip, path):
    page = new_context(**PHONE).new_page()
    sign_in(page, admin["email"], admin["password"])
    if path == "/admin/ip-blocks":  # one block to show (lifted again at the end)
        page.goto(path)
        page.get_by_label(zh("Address or network")).fill("198.51.100.0/24")
        page.get_by_label(zh("Reason")).fill("phone layout test")
        submit(page, zh("Block"))
    if path == "/admin/invites":
        page.goto(path)
        submit(page, zh("Create"))
    page.goto(path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing to scroll sideways
    first = page.locator("table.list tbody tr").first
    cells = first.locator("td[data-label]")
    assert cells.count() >= 3
    for index in range(cells.count()):
        cell = cells.nth(index)
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (path, index, box)
        label = cell.evaluate("c => getComputedStyle(c, '::before').content")
        assert label.strip('"') == cell.get_attribute("data-label")  # each value says what it is
    if path == "/admin/ip-blocks":
        page.once("dialog", lambda dialog: dialog.accept())
        first.get_by_role("button", name=zh("Lift")).click()
        expect(flash(page)).to_contain_text("198.51.100.0/24")
