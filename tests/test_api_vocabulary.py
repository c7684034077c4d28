"""One vocabulary and strict inputs across API, CLI and pages (issue 12, part 1).

Before: `POST /admin/invites {"uses": 1, "expires": "2026-12-31"}` (the CLI's words) answered
201 and made an invite that never expires (unknown fields were dropped); /me/sessions gave Unix
floats; a 405 had no Allow header.
"""

import re
from datetime import datetime

import pytest

from .support import create_admin
from .test_sessions_web import sign_in

FUTURE = "2099-12-31"


def test_invites_take_uses_and_expires_as_the_cli_does(api, admin_token):
    made = api.post("/admin/invites", json={"uses": 3, "expires": FUTURE, "count": 2}, token=admin_token)
    assert made.status_code == 201, made.get_json()
    items = made.get_json()["items"]
    assert len(items) == 2
    assert all(i["uses"] == 3 and i["used"] == 0 and i["expires"] == FUTURE for i in items)
    listed = api.get("/admin/invites", token=admin_token).get_json()["items"]
    assert {(i["uses"], i["expires"]) for i in listed} == {(3, FUTURE)}
    never = api.post("/admin/invites", json={"uses": 1}, token=admin_token).get_json()["items"][0]
    assert never["expires"] is None


@pytest.mark.parametrize("body, field", [
    ({"all_cnt": 1}, "all_cnt"),  # yesterday's name
    ({"uses": 1, "expire_date": FUTURE}, "expire_date"),
    ({"uses": 1, "expiry": FUTURE}, "expiry"),
])
def test_an_unknown_field_is_a_400_naming_it(api, admin_token, body, field):
    refused = api.post("/admin/invites", json=body, token=admin_token)
    assert refused.status_code == 400
    assert field in refused.get_json()["error"]["fields"]
    assert api.get("/admin/invites", token=admin_token).get_json()["items"] == []  # nothing made


def test_unknown_fields_are_refused_on_every_endpoint(api, register_user):
    register_user()
    refused = api.post("/sessions", json={"login": "alice", "password": "correct horse battery",
                                          "remember_me": True})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["fields"] == {"remember_me": ["Unknown field."]} or \
        list(refused.get_json()["error"]["fields"]) == ["remember_me"]


def test_the_invite_page_and_the_cli_use_the_same_words(app, browser, runner):
    create_admin(app)
    sign_in(browser, name="boss", password="the admin passphrase")
    page = browser.get("/admin/invites").get_data(as_text=True)
    assert 'name="uses"' in page and 'name="expires"' in page
    made = browser.submit("/admin/invites", {"count": 1, "uses": 2, "expires": FUTURE})
    assert made.status_code == 302
    listed = runner.invoke(args=["invites", "list"]).output
    assert re.search(rf"\t0/2\tactive\t{FUTURE}\t", listed), listed


def test_session_times_are_iso_8601_with_an_offset(api, register_user):
    _user, token = register_user()
    item = api.get("/me/sessions", token=token).get_json()["items"][0]
    for name in ("created", "last_seen"):
        parsed = datetime.fromisoformat(item[name])
        assert parsed.utcoffset() is not None, item[name]


def test_a_405_says_which_methods_are_allowed(api):
    answer = api.get("/sessions")
    assert answer.status_code == 405
    assert answer.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in {m.strip() for m in answer.headers["Allow"].split(",")}
