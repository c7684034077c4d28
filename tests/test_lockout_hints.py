"""Issue 14, "Lockout": from the 3rd wrong password on, the answer says how many tries are left
before the lock — the same for a login name that has no account, so the figure reveals
nothing — and the lock's answer says how long it lasts and what works meanwhile."""

import re

from .support import csrf_from

PASSWORD = "correct horse battery"
WRONG = "not the password at all"


def _api_sequence(api, login, ip):
    return [api.post("/sessions", json={"login": login, "password": WRONG}, ip=ip) for _ in range(5)]


def test_unknown_login_and_wrong_password_get_identical_answers_with_the_count(make_service):
    service = make_service(LOGIN_CAPTCHA="never")
    service.register_user()
    api = service.api
    answers = {"known": [], "unknown": []}
    for _ in range(5):  # interleaved: the lock's "until" time is read in the same moment
        answers["known"].append(api.post("/sessions", json={"login": "alice", "password": WRONG}, ip="198.51.100.1"))
        answers["unknown"].append(api.post("/sessions", json={"login": "nobody", "password": WRONG},
                                           ip="198.51.100.2"))
    for known, unknown in zip(answers["known"], answers["unknown"], strict=True):
        assert known.status_code == unknown.status_code
        assert known.get_json() == unknown.get_json()
        # the per-IP request limiter's header counts from each IP's own first request: the two
        # IPs' clocks may straddle a second boundary
        waits = [int(r.headers.get("Retry-After", -1)) for r in (known, unknown)]
        assert abs(waits[0] - waits[1]) <= 1, waits
    bodies = [a.get_json()["error"] for a in answers["known"]]
    assert [a.status_code for a in answers["known"]] == [401, 401, 401, 401, 423]
    assert "remaining_attempts" not in bodies[0] and "remaining_attempts" not in bodies[1]
    assert bodies[0]["message"] == "账号或密码错误。"
    assert bodies[2]["remaining_attempts"] == 2 and bodies[3]["remaining_attempts"] == 1
    assert bodies[2]["message"] == "账号或密码错误。再错 2 次，将锁定密码登录 10 分钟。"
    assert bodies[3]["message"] == "账号或密码错误。再错 1 次，将锁定密码登录 10 分钟。"


def test_the_lock_says_how_long_and_what_works_meanwhile(make_service):
    service = make_service(LOGIN_CAPTCHA="never")
    service.register_user()
    for _ in range(5):
        service.api.post("/sessions", json={"login": "alice", "password": WRONG}, headers={"Accept-Language": "en"})
    locked = service.api.post("/sessions", json={"login": "alice", "password": PASSWORD},
                              headers={"Accept-Language": "en"})
    assert locked.status_code == 423
    error = locked.get_json()["error"]
    assert 590 <= error["retry_after"] <= 600
    assert re.search(r"locked for 10 minutes more, until \d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+8\)", error["message"])
    assert "sign in with an emailed code" in error["message"]
    assert "reset your password by emailed code" in error["message"]


def test_without_code_sign_in_the_lock_does_not_offer_it(make_service):
    service = make_service(LOGIN_CAPTCHA="never", LOGIN_BY_CODE=False)
    for _ in range(6):
        locked = service.api.post("/sessions", json={"login": "nobody", "password": WRONG})
    assert locked.status_code == 423
    message = locked.get_json()["error"]["message"]
    assert "邮箱验证码重置密码" in message and "验证码登录" not in message


def _page_text(html):
    html = re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", html)
    return re.sub(r'value="[^"]*"', "", html)  # the typed login name itself


def test_the_sign_in_page_counts_down_alike_and_shows_the_ways_forward_when_locked(make_service):
    service = make_service(LOGIN_CAPTCHA="never")
    service.register_user()
    pages = {}
    for login in ("alice", "nobody"):
        client = service.app.test_client()
        seen = []
        for _ in range(5):
            token = csrf_from(client.get("/login").get_data(as_text=True))
            response = client.post("/login", data={"login": login, "password": WRONG, "csrf_token": token})
            seen.append((response.status_code, _page_text(response.get_data(as_text=True))))
        pages[login] = seen
    for (status_a, page_a), (status_b, page_b) in zip(pages["alice"], pages["nobody"], strict=True):
        assert status_a == status_b
        # the lock's "until" minute may differ between the two runs: compare without it
        assert re.sub(r"\d\d:\d\d \(UTC", "", page_a) == re.sub(r"\d\d:\d\d \(UTC", "", page_b)
    third, locked = pages["nobody"][2][1], pages["nobody"][4][1]
    assert "再错 2 次，将锁定密码登录 10 分钟" in third
    assert 'id="locked-next-steps"' in locked
    assert 'href="/login/code' in locked and 'href="/reset"' in locked
    assert "10 分钟" in locked
