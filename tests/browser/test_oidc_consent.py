"""An app sends a signed-out person to authsvc: sign-in, the consent page (at 390 px, by
keyboard alone), and back to the app with a code. The README's screenshot comes from here."""

import base64
import hashlib
import re
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from .helpers import PASSWORD, expect, solve_captcha, zh

pytestmark = pytest.mark.browser
APP = "https://app.example.net"
SHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "oidc-consent.png"


def test_sign_in_then_consent_by_keyboard_at_390px(stack, new_context, user):
    out = stack.flask("oidc-client", "create", "--name", "团队 Wiki", "--redirect-uri", f"{APP}/callback")
    client_id = re.search(r"client_id: (\S+)", out).group(1)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": f"{APP}/callback",
                       "scope": "openid profile email", "state": "s-123", "nonce": "n-1",
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    page = new_context(viewport={"width": 390, "height": 844}).new_page()
    page.route(f"{APP}/**", lambda route: route.fulfill(status=200, content_type="text/html",
                                                        body="<!doctype html><title>app</title><p>the app</p>"))
    page.goto(f"/oauth/authorize?{query}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label(zh("Email or username")).fill(user["username"])
    page.get_by_label(zh("Password"), exact=True).fill(PASSWORD)
    if page.locator("img[data-captcha]").count():
        solve_captcha(page)
    page.get_by_label(zh("Password"), exact=True).press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text(zh("Allow %(app)s to use your account?", app="团队 Wiki"))
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390  # nothing sideways at 390 px
    allow = page.get_by_role("button", name=zh("Allow"), exact=True)
    expect(allow).to_be_focused()  # the first thing a keyboard reaches
    SHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOT), full_page=True)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=zh("Cancel"), exact=True)).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(re.escape(f"{APP}/callback?")))
    answer = parse_qs(urlsplit(page.url).query)
    assert answer["state"] == ["s-123"] and len(answer["code"][0]) >= 40

    # Another browser, consent given before: the sign-in form's answer goes straight on to the
    # app (the sign-in page allows that one registered origin as a form target)
    later = new_context(viewport={"width": 390, "height": 844}).new_page()
    later.route(f"{APP}/**", lambda route: route.fulfill(status=200, content_type="text/html",
                                                         body="<!doctype html><title>app</title><p>the app</p>"))
    later.goto(f"/oauth/authorize?{query}")
    later.get_by_label(zh("Email or username")).fill(user["username"])
    later.get_by_label(zh("Password"), exact=True).fill(PASSWORD)
    if later.locator("img[data-captcha]").count():
        solve_captcha(later)
    later.get_by_label(zh("Password"), exact=True).press("Enter")
    expect(later).to_have_url(re.compile(re.escape(f"{APP}/callback?")))
    assert parse_qs(urlsplit(later.url).query)["state"] == ["s-123"]
