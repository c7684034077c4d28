"""Send limits per address and per IP: 429 with Retry-After, exact under concurrency."""

from concurrent.futures import ThreadPoolExecutor

from .support import Api


def test_resend_cooldown(api):
    assert api.register().status_code == 202
    response = api.resend_registration("alice@example.com")
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert 55 <= error["retry_after"] <= 60
    assert response.headers["Retry-After"] == str(error["retry_after"])
    assert "60" in error["message"] or "59" in error["message"] or "1" in error["message"]


def test_three_sends_per_address_per_five_minutes(make_service):
    api = make_service(RESEND_COOLDOWN=0).api
    assert api.register().status_code == 202
    statuses = [api.resend_registration("alice@example.com").status_code
                for _ in range(3)]
    assert statuses == [202, 202, 429]
    blocked = api.resend_registration("alice@example.com")
    assert 200 <= blocked.get_json()["error"]["retry_after"] <= 300


def test_address_variants_share_one_bucket(make_service):
    api = make_service(RESEND_COOLDOWN=0).api
    assert api.register(email="alice@example.com").status_code == 202
    for variant in ("ALICE@EXAMPLE.COM ", " Alice@Example.com"):
        assert api.resend_registration(variant).status_code == 202
    assert api.resend_registration("alice@example.COM").status_code == 429


def test_ten_sends_per_ip_per_hour(api):
    statuses = [api.register(email=f"user{i}@example.com", username=f"user{i}", ip="10.0.0.1").status_code
                for i in range(11)]
    assert statuses == [202] * 10 + [429]
    other_ip = api.register(email="other@example.com", username="other", ip="10.0.0.2")
    assert other_ip.status_code == 202


def test_refused_send_charges_nothing(make_service):
    # A send refused by the per-IP limit must not eat the address's budget (and vice versa).
    api = make_service(SEND_LIMIT_PER_IP="1 per hour", RESEND_COOLDOWN=0).api
    assert api.register(email="a@example.com", username="aaaa", ip="10.0.0.9").status_code == 202
    assert api.register(email="b@example.com", username="bbbb", ip="10.0.0.9").status_code == 429
    # b@ still has its full 3-per-5-minutes budget, each send from a fresh IP
    statuses = [api.register(email="b@example.com", username="bbbb", ip=f"10.0.1.{i}").status_code
                for i in range(4)]
    assert statuses == [202, 202, 202, 429]
    # and the IP refused for b@'s fourth send was not charged either
    assert api.register(email="c@example.com", username="cccc", ip="10.0.1.3").status_code == 202


def test_spoofed_forwarded_for_is_ignored_by_default(api):
    for i in range(10):
        api.register(email=f"x{i}@example.com", username=f"xuser{i}",
                     headers={"X-Forwarded-For": f"192.0.2.{i}"})
    response = api.register(email="y@example.com", username="yuser",
                            headers={"X-Forwarded-For": "198.51.100.7"})
    assert response.status_code == 429


def test_trusted_proxy_forwarded_for_is_used(make_service):
    api = make_service(PROXY_FIX_X_FOR=1).api
    for i in range(10):
        api.register(email=f"x{i}@example.com", username=f"xuser{i}",
                     headers={"X-Forwarded-For": "192.0.2.1"})
    assert api.register(email="z@example.com", username="zuser",
                        headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 429
    other = api.register(email="y@example.com", username="yuser",
                         headers={"X-Forwarded-For": "192.0.2.2"})
    assert other.status_code == 202


def test_concurrent_sends_from_one_ip_are_limited_exactly(app):
    def send(i):
        client = Api(app.test_client())
        return client.register(email=f"c{i}@example.com", username=f"cuser{i}",
                               ip="10.9.9.9").status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(send, range(24)))
    assert statuses.count(202) == 10
    assert statuses.count(429) == 14


def test_limits_can_be_switched_off(make_service):
    api = make_service(RATELIMIT_ENABLED=False).api
    assert api.register().status_code == 202
    assert all(api.resend_registration("alice@example.com").status_code == 202
               for _ in range(5))
