"""What fuzzing the API found (and review of the same inputs), replayed on every `make test`
through the same schemathesis checks as tests/fuzz: no 5xx, answers as documented.

Unlike tests/fuzz these run on the suite's own Redis and database, so CI's second run
replays the NUL cases on PostgreSQL, which refuses NUL in text (SQLite takes it).
"""

import pytest

from .fuzz.harness import SCHEMA, Accounts, send

TOO_BIG_ID = 2**63  # above SQLite's INTEGER: OverflowError

FOUND = [
    # GET/POST /admin/users/{id}: an id past 2**63-1 reached SQLite and answered 500.
    ("GET", "/admin/users/{user_id}", {"path_parameters": {"user_id": TOO_BIG_ID}}, 404),
    ("POST", "/admin/users/{user_id}/deactivate", {"path_parameters": {"user_id": TOO_BIG_ID}}, 404),
    ("POST", "/admin/users/{user_id}/send-reset", {"path_parameters": {"user_id": 2**31}}, 404),
    # Dates at the ends of datetime's range overflowed in audit_search.parse_day (500).
    ("GET", "/admin/audit", {"query": {"until": "9999-12-31"}}, 400),
    ("GET", "/admin/audit", {"query": {"since": "0001-01-01T00:00:00+01:00"}}, 400),
    ("GET", "/admin/audit", {"query": {"since": "9999-12-31T23:00:00-05:00"}}, 400),
    ("POST", "/admin/invites", {"body": {"expires": "9999-12-31"}}, 400),
    # NUL in text that reaches a query: PostgreSQL raises DataError (500).
    ("GET", "/admin/users", {"query": {"q": "a\x00"}}, 400),
    ("GET", "/admin/audit", {"query": {"email": "a\x00@example.com"}}, 400),
    ("GET", "/admin/audit", {"query": {"event": "login\x00"}}, 400),
    ("GET", "/admin/audit", {"query": {"ip": "127.0.0.1\x00"}}, 400),
    ("DELETE", "/admin/invites/{code}", {"path_parameters": {"code": "ABCD\x00EFGH"}}, 404),
    # A lone surrogate ("\ud800" in JSON) cannot be encoded: UnicodeEncodeError (500) in the
    # password hash, the login lookup, the challenge and captcha hashes.
    ("POST", "/registrations", {"body": {"email": "a@example.com", "username": "abcd",
                                         "password": "correct horse \ud800 battery"}}, 400),
    ("POST", "/sessions", {"body": {"login": "ab\ud800", "password": "x"}}, 400),
    ("POST", "/sessions/second-factor", {"body": {"challenge": "\ud800", "code": "123456"}}, 400),
    ("POST", "/sessions/second-factor/resend", {"body": {"challenge": "\udfff"}}, 400),
    ("POST", "/login-codes", {"body": {"email": "a@example.com", "captcha_id": "\ud800",
                                       "captcha_answer": "ABCD"}}, 400),
]


@pytest.fixture
def target(make_service):
    service = make_service(CAPTCHA_ENABLED=False, RATELIMIT_ENABLED=False)
    return service.app, Accounts(service)


@pytest.mark.parametrize("method, path, data, status", FOUND,
                         ids=[f"{m} {p} {sorted(d.values())}" for m, p, d, _s in FOUND])
def test_found_case_is_answered_as_documented(target, method, path, data, status):
    case = SCHEMA[path][method].Case(**data)
    response = send(case, *target, "admin")  # raises on a 5xx or an undocumented answer
    assert response.status_code == status


def test_json_nested_past_the_recursion_limit_is_a_400(target):
    app, accounts = target
    body = "[" * 30000 + "]" * 30000  # under MAX_CONTENT_LENGTH; RecursionError in the parser
    response = app.test_client().post("/api/v1/me/notifications", data=body, headers={
        **accounts.headers("user"), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_input"


def test_sane_dates_still_work(target):
    app, accounts = target
    client = app.test_client()
    headers = accounts.headers("admin")
    audit = client.get("/api/v1/admin/audit?since=2026-01-01&until=9998-12-31", headers=headers)
    assert audit.status_code == 200
    created = client.post("/api/v1/admin/invites", json={"expires": "9998-12-31"}, headers=headers)
    assert created.status_code == 201
    assert created.get_json()["items"][0]["expires"] == "9998-12-31"
