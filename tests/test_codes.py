"""One-time codes at the service level: format, storage, TTL, purpose binding, budget."""

from collections import Counter

import pytest

from authsvc import crypto, keys
from authsvc.errors import CodeExpired, InvalidCode, RateLimited
from authsvc.services import codes


def test_codes_are_six_digits_with_leading_zeros(app):
    with app.app_context():
        sample = [codes.generate_code() for _ in range(20000)]
    assert all(len(c) == 6 and c.isdigit() for c in sample)
    first_digits = Counter(c[0] for c in sample)
    assert set(first_digits) == set("0123456789")  # leading zeros occur
    assert 1500 < first_digits["0"] < 2500
    assert len(set(sample)) > 19000


def test_stored_as_keyed_hash_with_the_purpose_ttl(app):
    with app.test_request_context():
        code = codes.issue_code("reset", "alice@example.com")
        redis = app.extensions["authsvc.redis"]
        key = keys.code("reset", crypto.address_id("alice@example.com"))
        stored = redis.hgetall(key)
        assert code.encode() not in b"".join(stored.values())
        assert 1795 <= redis.ttl(key) <= 1800
        codes.verify_code("reset", "alice@example.com", code)
        assert not redis.exists(key)


@pytest.mark.parametrize("purpose,ttl", [("register", 900), ("login", 300), ("change_email", 900)])
def test_ttl_per_purpose(app, purpose, ttl):
    with app.test_request_context():
        codes.issue_code(purpose, "a@example.com")
        left = app.extensions["authsvc.redis"].ttl(keys.code(purpose, crypto.address_id("a@example.com")))
        assert ttl - 5 <= left <= ttl


def test_a_code_is_bound_to_its_purpose_and_address(app):
    with app.test_request_context():
        code = codes.issue_code("register", "alice@example.com")
        with pytest.raises(CodeExpired):
            codes.verify_code("reset", "alice@example.com", code)
        with pytest.raises(CodeExpired):
            codes.verify_code("register", "bob@example.com", code)
        codes.verify_code("register", "alice@example.com", code)


def test_refused_after_ttl(make_app):
    import time

    app = make_app(CODE_TTL_LOGIN=1)
    with app.test_request_context():
        code = codes.issue_code("login", "a@example.com")
        time.sleep(1.2)
        with pytest.raises(CodeExpired):
            codes.verify_code("login", "a@example.com", code)


def test_new_code_does_not_reset_the_daily_failure_budget(make_app):
    app = make_app(CODE_DAILY_FAILURE_CAP=7)
    with app.test_request_context():
        failures = 0
        for _ in range(3):
            code = codes.issue_code("login", "a@example.com")
            wrong = f"{(int(code) + 1) % 1_000_000:06d}"
            for _ in range(3):
                try:
                    codes.verify_code("login", "a@example.com", wrong)
                except InvalidCode:
                    failures += 1
                except RateLimited as exc:
                    assert failures == 7 and exc.retry_after > 0
                    fresh = codes.issue_code("login", "a@example.com")
                    with pytest.raises(RateLimited):
                        codes.verify_code("login", "a@example.com", fresh)  # even the right one
                    return
        pytest.fail("the daily budget was never enforced")


def test_a_superseded_code_says_so_and_costs_no_try(app):
    with app.test_request_context():
        first = codes.issue_code("login", "a@example.com")
        second = codes.issue_code("login", "a@example.com")
        if first == second:
            pytest.skip("the two random codes happen to be equal")
        with pytest.raises(CodeExpired, match="新的验证码"):
            codes.verify_code("login", "a@example.com", first)
        left = app.extensions["authsvc.redis"].hget(keys.code("login", crypto.address_id("a@example.com")), "n")
        assert left == b"0"  # no try spent
        codes.verify_code("login", "a@example.com", second)
