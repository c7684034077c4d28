"""Issue 11: notices an attacker can trigger, IPv6 clients, username probing, parallel guesses.

The same races run against gunicorn in tests/race; these in-process ones pin the rules.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

from authsvc.requestinfo import limit_key

from .support import Api

PASSWORD = "correct horse battery"


def _subjects(mailbox, to, word):
    return [m["message"]["Subject"] for m in mailbox.messages(to) if word in m["message"]["Subject"]]


def test_new_device_notices_at_most_one_an_hour(make_service):
    service = make_service(NOTIFY_NEW_DEVICE=True)
    service.register_user()
    service.mailbox.server.clear()
    for _ in range(4):  # four fresh devices (no device token)
        assert service.api.post("/sessions", json={"login": "alice", "password": PASSWORD}).status_code == 200
    assert len(_subjects(service.mailbox, "alice@example.com", "新的登录")) == 1


def test_parallel_failures_lock_once_and_mail_one_lockout_notice(make_service):
    service = make_service(CAPTCHA_ENABLED=False, BCRYPT_ROUNDS=6)
    service.register_user()
    service.mailbox.server.clear()

    def guess(i):
        return Api(service.app.test_client()).post(
            "/sessions", json={"login": "alice", "password": f"wrong guess {i}"}, ip=f"10.5.0.{i}").status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(guess, range(16)))
    assert statuses.count(401) <= 5 and statuses.count(401) + statuses.count(423) == 16, statuses
    right = service.api.post("/sessions", json={"login": "alice", "password": PASSWORD})
    assert right.status_code == 423
    assert len(_subjects(service.mailbox, "alice@example.com", "锁定")) == 1


@pytest.mark.parametrize("address, key", [
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("192.0.2.7", "192.0.2.7"),
    ("not-an-address", "not-an-address"),
])
def test_ipv6_clients_are_keyed_by_their_64(address, key):
    assert limit_key(address, 64) == key


def test_one_ipv6_64_is_one_client_for_every_limit(make_service):
    service = make_service(SEND_LIMIT_PER_IP="2 per hour", CAPTCHA_IMAGE_LIMIT="1000 per hour")
    api = service.api
    statuses = [api.register(email=f"u{i}@example.com", username=f"user{i}",
                             ip=f"2001:db8:aa:bb::{i + 1:x}").status_code for i in range(3)]
    assert statuses == [202, 202, 429]
    # another /64 is another client; an IPv4-mapped address is its IPv4 address
    assert api.register(email="v@example.com", username="userv", ip="2001:db8:aa:bc::1").status_code == 202
    assert api.register(email="w@example.com", username="userw", ip="192.0.2.9").status_code == 202
    assert api.register(email="x@example.com", username="userx", ip="::ffff:192.0.2.9").status_code == 202
    assert api.register(email="y@example.com", username="usery", ip="192.0.2.9").status_code == 429


def test_ipv6_neighbours_share_the_sign_in_captcha_rule(make_service):
    service = make_service()
    api = service.api
    for i in range(3):
        api.post("/sessions", json={"login": f"nobody{i}", "password": "x" * 12}, ip=f"2001:db8:5::{i + 1}")
    nextdoor = api.post("/sessions", json={"login": "someone", "password": "x" * 12}, ip="2001:db8:5::99")
    assert nextdoor.status_code == 400
    assert nextdoor.get_json()["error"]["code"] == "captcha_required"


def test_audit_keeps_the_full_ipv6_address(make_service):
    from authsvc.extensions import db
    from authsvc.models import AuditEvent

    service = make_service()
    service.api.post("/sessions", json={"login": "nobody", "password": "x" * 12}, ip="2001:db8:5::1234")
    with service.app.app_context():
        ips = {row.ip for row in db.session.query(AuditEvent).all()}
    assert "2001:db8:5::1234" in ips


def test_taken_and_free_usernames_answer_alike_once_the_ip_budget_is_spent(make_service, register_user):
    service = make_service(SEND_LIMIT_PER_IP="3 per hour")
    service.register_user(email="alice@example.com", username="alice")
    api = service.api
    # probing spends the budget: a taken username costs a send like any other start
    answers = [api.register(email=f"p{i}@example.com", username="alice", ip="10.7.0.1").status_code
               for i in range(3)]
    assert answers == [409, 409, 409]
    taken = api.register(email="q@example.com", username="alice", ip="10.7.0.1")
    free = api.register(email="r@example.com", username="freename", ip="10.7.0.1")
    assert taken.status_code == free.status_code == 429
    assert taken.get_json()["error"]["code"] == free.get_json()["error"]["code"] == "rate_limited"
