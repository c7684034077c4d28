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
    expect(rows).to_contain_text("reason=wrong_password")
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
