"""Passkeys in a real browser (issue 13): Chromium's virtual authenticator (CDP WebAuthn: ctap2,
internal transport, resident keys, user verification) stands in for Touch ID. Enrol a passkey
from /account, sign out, sign in with the no-username button, sign out, sign in through the
login field's autofill (conditional UI), use it as the second step after a password (a stale
copy of it, whose counter went backwards, refused first), remove it."""

import re

import pytest

from .helpers import PASSWORD, expect, sign_out, submit, zh

pytestmark = pytest.mark.browser
ACCOUNT = re.compile(r"/account$")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                 "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True}


# Which request signed in, kept across the page loads: "conditional" (the login field's
# autofill) or "modal" (a button).
RECORD_VIA = """
(function () {
  if (!navigator.credentials) { return; }
  var get = navigator.credentials.get.bind(navigator.credentials);
  navigator.credentials.get = function (options) {
    var via = (options && options.mediation) || "modal";
    sessionStorage.setItem("passkeyAsked", (sessionStorage.getItem("passkeyAsked") || "") + via + " ");
    return get(options).then(function (credential) {
      if (credential) { sessionStorage.setItem("passkeyVia", via); }
      return credential;
    });
  };
}());
"""


def virtual_authenticator(context, page, credential=None):
    """A platform authenticator with a verified user, attached to `page` (holding `credential`,
    a passkey exported from another one); returns (cdp, id)."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    if credential:
        cdp.send("WebAuthn.addCredential", {"authenticatorId": added["authenticatorId"], "credential": credential})
    return cdp, added["authenticatorId"]


def credentials(cdp, authenticator):
    return cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]


def password_sign_in(page, login):
    page.goto("/login")
    page.get_by_label(zh("Email or username")).fill(login)
    page.get_by_label(zh("Password"), exact=True).fill(PASSWORD)
    submit(page, zh("Sign in"))


def signed_in_via(page):
    expect(page).to_have_url(ACCOUNT)
    return page.evaluate("sessionStorage.getItem('passkeyVia')")


def test_enrol_sign_in_both_ways_second_step_and_remove(new_context, user, fresh_ip):
    context = new_context(**PHONE)
    context.add_init_script(RECORD_VIA)
    page = context.new_page()
    cdp, authenticator = virtual_authenticator(context, page)
    # signed in by password before any passkey exists (the login page's autofill finds none)
    password_sign_in(page, user["username"])
    expect(page).to_have_url(ACCOUNT)

    # enrol from /account, named by the user
    page.locator("#add-passkey").click()
    expect(page.get_by_role("heading", name=zh("Add a passkey"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_label(zh("Name")).fill("MacBook")
    page.get_by_role("button", name=zh("Create passkey")).click()
    expect(page.get_by_role("heading", name=zh("Your recovery codes"))).to_be_visible()  # the first factor
    stored = credentials(cdp, authenticator)
    assert len(stored) == 1 and stored[0]["isResidentCredential"] and stored[0]["rpId"] == "localhost"
    page.goto("/account")
    expect(page.locator("#passkeys")).to_contain_text("MacBook")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # sign out with the authenticator away (so the autofill's request waits), then the button,
    # no login name typed, once the authenticator is back
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
    sign_out(page)
    page.wait_for_function("(sessionStorage.getItem('passkeyAsked') || '').includes('conditional')")
    cdp, authenticator = virtual_authenticator(context, page, stored[0])
    page.get_by_role("button", name=zh("Sign in with a passkey")).click()
    assert signed_in_via(page) == "modal"
    expect(page.locator("#passkeys")).not_to_contain_text(zh("Never"))  # last used: now

    # sign out with the authenticator here: the login field's autofill request (mediation
    # "conditional") signs in. Chromium's virtual authenticator answers a conditional request
    # at once, as a person picking the passkey from the autofill list would.
    page.evaluate("sessionStorage.clear()")
    page.locator("header").get_by_role("button", name=zh("Sign out")).click()
    assert signed_in_via(page) == "conditional"
    assert "conditional" in page.evaluate("sessionStorage.getItem('passkeyAsked')")

    # the passkey as the second step after the password, in a second tab with no authenticator
    # until the step asks (so its login page's autofill stays quiet)
    current = credentials(cdp, authenticator)[0]
    assert current["signCount"] > stored[0]["signCount"]
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
    other = context.new_page()
    other.goto("/account")
    other.locator("header").get_by_role("button", name=zh("Sign out")).click()
    password_sign_in(other, user["username"])
    expect(other).to_have_url(re.compile(r"/login/verify$"))
    expect(other.get_by_role("link", name=zh("Lost your device? Use a recovery code"))).to_be_visible()
    assert other.evaluate("document.documentElement.scrollWidth") <= 390
    # first a copy of the passkey as it was at enrolment: its counter went backwards, refused
    stale_cdp, stale = virtual_authenticator(context, other, stored[0])
    other.get_by_role("button", name=zh("Use your passkey")).click()
    expect(other.locator(".flash.error")).to_contain_text(zh(
        "This passkey's use counter went backwards, a sign that it may have been copied. It was refused; "
        "if it is yours, remove it and add it again."))
    stale_cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": stale})
    # then the passkey itself
    virtual_authenticator(context, other, current)
    other.evaluate("sessionStorage.clear()")
    other.get_by_role("button", name=zh("Use your passkey")).click()
    assert signed_in_via(other) == "modal"

    # remove it (a password session of a moment ago: no confirmation asked again)
    other.locator("#passkeys").get_by_role("link", name=zh("Manage")).click()
    other.get_by_role("button", name=zh("Remove this passkey")).click()
    expect(other).to_have_url(ACCOUNT)
    expect(other.locator(".flash")).to_contain_text(zh("The passkey was removed. It can no longer sign in to your account."))
    expect(other.locator("#passkeys")).not_to_contain_text("MacBook")
