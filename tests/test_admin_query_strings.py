"""Admin pages and the admin API against hostile query strings.

- pagination and export links are built from the known filter keys only: a `format` other
  than csv, or keys like `_external`, `_anchor`, `_scheme`, `_method`, `endpoint`, never reach
  url_for (they used to: a 500, or links pointing off the page);
- every admin GET route (HTML and JSON) answers below 500 whatever the query string
  (property-based, hypothesis);
- the user search and the audit event filter treat `%`, `_` and `\\` as plain characters.
"""

import os
import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authsvc.extensions import db
from authsvc.models import AuditEvent, InviteCode, User, utcnow

from .support import ADMIN_PASSWORD, create_admin
from .test_sessions_web import sign_in

# an href or action attribute: after whitespace, so that a value ending in "?action=" (the
# language switch's `next` carries the page's own query) is not read as one
LINK = re.compile(r'(?<=\s)(?:href|action)="([^"]*)"')


@pytest.fixture
def admin_browser(app, browser):
    create_admin(app)
    response = sign_in(browser, name="boss", password=ADMIN_PASSWORD)
    assert response.status_code == 302
    return browser


def seed(app, users=0, events=0):
    """Enough rows straight in the database for the pagers to show (20 users, 50 events a page)."""
    with app.app_context():
        now = utcnow()
        for i in range(users):
            db.session.add(User(email=f"seeded{i}@example.com", username=f"seeded{i}", password_hash="x",
                                email_verified_at=now))
        for i in range(events):
            db.session.add(AuditEvent(event="login.success", outcome="success", email=f"seeded{i}@example.com",
                                      ip="192.0.2.1", at=now))
        db.session.add(InviteCode(code="SEEDED-INVITE", all_cnt=1))
        db.session.commit()


def links(html):
    return [unescape(link) for link in LINK.findall(html)]


def assert_links_stay_on_site(html):
    """Every link and form action on an admin page is a same-site path with no `_` keys."""
    for link in links(html):
        if link.startswith("#") or link == "":
            continue
        parts = urlsplit(link)
        assert link.startswith("/") and not link.startswith(("//", "/\\")), link
        assert not parts.scheme and not parts.netloc and not parts.fragment, link
        keys = [key for key, _value in parse_qsl(parts.query, keep_blank_values=True)]
        assert not any(key.startswith("_") or key == "endpoint" for key in keys), link


# --- finding 1: url_for fed from the query string ----------------------------------------------
@pytest.mark.parametrize("value", ["html", "json", "", "CSV", "csv2"])
def test_audit_page_with_a_format_other_than_csv_is_a_page_not_a_500(app, admin_browser, value):
    response = admin_browser.get("/admin/audit", query_string={"format": value, "event": "login."})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    export = [link for link in links(html) if "format=csv" in link]
    assert export == ["/admin/audit?format=csv&event=login."]
    assert_links_stay_on_site(html)


def test_audit_csv_export_still_works(app, admin_browser):
    response = admin_browser.get("/admin/audit?format=csv&event=login.")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "login.success" in response.get_data(as_text=True)


HOSTILE = [
    {"_external": "1"},
    {"_anchor": "x"},
    {"_scheme": "javascript"},
    {"_scheme": "javascript", "_external": "1"},
    {"_method": "POST"},
    {"endpoint": "main.index"},
    {"format": "html", "_external": "1", "_anchor": "top", "_method": "POST"},
]


@pytest.mark.parametrize("extra", HOSTILE, ids=lambda extra: "&".join(f"{k}={v}" for k, v in extra.items()))
@pytest.mark.parametrize("path,filters", [("/admin/users", {"q": "seeded"}),
                                          ("/admin/audit", {"event": "login.", "ip": "192.0.2.1"})])
def test_query_keys_outside_the_filters_never_reach_url_for(app, admin_browser, path, filters, extra):
    seed(app, users=45, events=120)
    response = admin_browser.get(path, query_string={**filters, "page": "2", **extra})
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    assert_links_stay_on_site(html)
    pager = [link for link in links(html) if "page=" in link]
    assert sorted(pager) == sorted(f"{path}?{'&'.join(f'{k}={v}' for k, v in {**filters, 'page': n}.items())}"
                                   for n in (1, 3))


def test_a_bad_audit_filter_is_left_out_of_the_links(app, admin_browser):
    seed(app, events=60)
    html = admin_browser.get("/admin/audit?email=x%00y&page=1").get_data(as_text=True)
    assert "/admin/audit?format=csv" in [link for link in links(html) if "format=csv" in link]
    assert "/admin/audit?page=2" in links(html)


def test_a_bad_audit_filter_never_exports_the_whole_log(app, admin_browser):
    response = admin_browser.get("/admin/audit?format=csv&email=x%00y")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "请求格式不正确" in response.get_data(as_text=True)
    response = admin_browser.get("/admin/audit?format=csv&since=yesterday")
    assert response.status_code == 200 and response.mimetype == "text/html"


# --- finding 2: property-based fuzzing of every admin GET route --------------------------------
KEYS = ["_external", "_anchor", "_scheme", "_method", "_", "__", "endpoint", "format", "page", "per_page", "q",
        "since", "until", "event", "email", "ip", "status", "user_id", "code", "action", "next", "lang"]
SPECIAL = ["csv", "html", "", "%", "_", "\\", "%_\\", "\x00", "a\x00b", "\r\n", "javascript", "https://evil.example",
           "9999-12-31", "0001-01-01", "2026-02-30", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59",
           "-1", "0", "1e309", "nan", "١٢", "10" * 400, str(2**63), str(-2**63), "login.", "ﬀ", "𝔘", "\u2028",
           "' OR 1=1 --", "<script>x</script>"]
values = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=40),
                   st.integers(min_value=-10**30, max_value=10**30).map(str))
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=12),
                 st.text(max_size=12).map(lambda key: "_" + key))
pairs = st.lists(st.tuples(keys, values), max_size=6)
# raw query strings too: stray and broken percent-escapes, bare keys, repeated separators
raw = st.lists(st.sampled_from(["%", "%%", "%zz", "%00", "%ff", "%c3", "%e2%80%a8", "&", "=", "==", ";", "+",
                                "_external=1", "format=html", "page=", "page=-5", "q=%25", "q=_", "_anchor",
                                "since=%00", "a", "[]", "page[]=1"]), max_size=8).map("".join)
queries = st.one_of(pairs, raw)

# ADMIN_FUZZ_EXAMPLES=500 for a longer hunt; 40 per route keeps the file around 20 s
FUZZ = settings(max_examples=int(os.environ.get("ADMIN_FUZZ_EXAMPLES", 40)), deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def admin_get_rules(app, prefix):
    rules = [rule for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith(prefix) and "GET" in rule.methods]
    return sorted(rules, key=lambda rule: rule.rule)


def build(rule, values):
    return rule.build(values, append_unknown=False)[1]


def url_values(admin_id):
    return {"user_id": admin_id, "code": "SEEDED-INVITE", "action": "unlock"}


def admin_id(app):
    with app.app_context():
        return db.session.execute(db.select(User.id).filter_by(username="boss")).scalar_one()


def test_every_admin_page_survives_any_query_string(app, admin_browser):
    seed(app, users=25, events=60)
    rules = admin_get_rules(app, "admin.")
    assert {rule.endpoint for rule in rules} >= {"admin.index", "admin.user_list", "admin.user_detail",
                                                 "admin.invite_list", "admin.audit_log"}
    values = url_values(admin_id(app))
    for rule in rules:
        path = build(rule, values)
        assert admin_browser.get(path).status_code == 200, path

        @FUZZ
        @given(query=queries)
        def check(query):
            response = admin_browser.get(path, query_string=query)
            assert response.status_code < 500, (path, query, response.status_code)
            if response.status_code == 200 and response.mimetype == "text/html":
                assert_links_stay_on_site(response.get_data(as_text=True))

        check()
    # still signed in as the admin after all that
    assert admin_browser.get("/admin").status_code == 200


def test_every_admin_api_route_survives_any_query_string(app, api, admin_token):
    seed(app, users=25, events=60)
    rules = admin_get_rules(app, "api.")
    rules = [rule for rule in rules if rule.rule.startswith("/api/v1/admin")]
    assert len(rules) >= 6
    values = url_values(admin_id(app))
    for rule in rules:
        path = build(rule, values)[len("/api/v1"):]
        assert api.get(path, token=admin_token).status_code == 200, path

        @FUZZ
        @given(query=queries)
        def check(query):
            response = api.get(path, token=admin_token, query_string=query)
            assert response.status_code < 500, (path, query, response.status_code)

        check()


# --- finding 3: LIKE wildcards in the user search and the audit filter ------------------------
def found(api, token, q):
    body = api.get("/admin/users", token=token, query_string={"q": q}).get_json()
    return sorted(item["username"] for item in body["items"])


def test_user_search_treats_like_wildcards_as_plain_characters(app, api, admin_token, register_user, browser):
    register_user()
    register_user(email="bob@example.com", username="bob")
    assert found(api, admin_token, "ali") == ["alice"]
    for q in ("_", "%", "\\", "%%", "_____", "a%e", "a_i", "\\%", "%_\\"):
        assert found(api, admin_token, q) == [], q
    # usernames are letters and digits only; addresses can hold `_` (and `%`)
    register_user(email="carol_x@example.com", username="carol")
    assert found(api, admin_token, "_") == ["carol"]
    assert found(api, admin_token, "l_x") == ["carol"]
    assert found(api, admin_token, "%") == []
    # the HTML page shares the service
    sign_in(browser, name="boss", password=ADMIN_PASSWORD)
    page = browser.get("/admin/users?q=%25").get_data(as_text=True)
    assert "alice@example.com" not in page and "bob@example.com" not in page
    page = browser.get("/admin/users?q=_").get_data(as_text=True)
    assert "carol_x@example.com" in page and "alice@example.com" not in page


def test_user_search_finds_a_literal_percent_in_an_address(app, api, admin_token):
    with app.app_context():
        db.session.add(User(email="per%cent@example.com", username="percent", password_hash="x"))
        db.session.add(User(email="back\\slash@example.com", username="backslash", password_hash="x"))
        db.session.commit()
    assert found(api, admin_token, "%") == ["percent"]
    assert found(api, admin_token, "\\") == ["backslash"]
    assert found(api, admin_token, "r%c") == ["percent"]


def test_audit_event_filter_treats_like_wildcards_as_plain_characters(app, api, admin_token):
    def total(**filters):
        response = api.get("/admin/audit", token=admin_token, query_string=filters)
        assert response.status_code == 200
        return response.get_json()["total"]

    assert total(event="login.") >= 1 and total() >= 2  # admin.created, login.success
    for event in ("%", "_", "login_", "l%", "____", "\\", "%_\\"):
        assert total(event=event) == 0, event
    with app.app_context():
        db.session.add(AuditEvent(event="odd_event%\\", outcome="success", at=utcnow()))
        db.session.commit()
    assert total(event="odd_") == 1 and total(event="odd_event%\\") == 1 and total(event="odd.") == 0
