"""Abnormal IPs: a client network that keeps hitting limits is refused everywhere for a while;
admins list, add and lift blocks (pages, API, CLI). Real Redis, the real endpoints."""

import re
import time

import pytest

from authsvc.extensions import db
from authsvc.models import AuditEvent

from .support import ADMIN_PASSWORD, create_admin, csrf_from
from .test_sessions_web import sign_in

BAD = "203.0.113.9"


def blocking_service(make_service, **overrides):
    settings = dict(IP_BLOCK_AFTER=3, IP_BLOCK_WINDOW=60, IP_BLOCK_SECONDS=120,
                    CAPTCHA_IMAGE_LIMIT="2 per minute")
    return make_service(**dict(settings, **overrides))


def hammer(api, ip, times):
    return [api.post("/captcha", ip=ip).status_code for _ in range(times)]


def audit_rows(app, event):
    with app.app_context():
        return [(e.detail, e.actor_id) for e in db.session.execute(
            db.select(AuditEvent).filter_by(event=event).order_by(AuditEvent.id)).scalars()]


def test_a_client_that_keeps_hitting_limits_is_blocked_everywhere(make_service):
    service = blocking_service(make_service)
    api, client = service.api, service.app.test_client()
    # two pictures allowed, then the request limit answers 429 three times: the third blocks
    assert hammer(api, BAD, 5) == [201, 201, 429, 429, 429]
    refused = api.post("/captcha", ip=BAD)
    body = refused.get_json()["error"]
    assert refused.status_code == 429 and body["code"] == "rate_limited"
    assert 110 <= int(refused.headers["Retry-After"]) <= 120 and body["retry_after"] == int(refused.headers["Retry-After"])
    assert "网络" in body["message"]
    # every endpoint, pages and API, signed in or not
    assert api.post("/sessions", json={"login": "a", "password": "b"}, ip=BAD).status_code == 429
    assert api.get("/me", ip=BAD).status_code == 429
    page = client.get("/login", environ_base={"REMOTE_ADDR": BAD})
    text = page.get_data(as_text=True)
    assert page.status_code == 429 and "Retry-After" in page.headers
    assert "来自您所在网络的请求过多" in text and "2 分钟" in text
    english = client.get("/register", environ_base={"REMOTE_ADDR": BAD}, headers={"Accept-Language": "en"})
    assert english.status_code == 429 and "Too many requests came from your network" in english.get_data(as_text=True)
    # the same network is blocked, not only the address; others and the health checks are not
    assert api.post("/captcha", ip="203.0.113.10").status_code == 201
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": BAD}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": BAD}).status_code == 200
    assert client.get("/login", environ_base={"REMOTE_ADDR": "198.51.100.1"}).status_code == 200
    [(detail, actor)] = audit_rows(service.app, "ip.blocked")
    assert detail["network"] == BAD + "/32" and detail["kind"] == "auto" and actor is None
    metrics = client.get("/metrics").get_data(as_text=True)
    assert re.search(r'^authsvc_ip_blocks_total\{kind="auto"\} 1\.0$', metrics, re.M)
    assert re.search(r"^authsvc_ip_blocks_active 1\.0$", metrics, re.M)


def test_an_automatic_block_ends_by_itself(make_service):
    service = blocking_service(make_service, IP_BLOCK_SECONDS=2)
    hammer(service.api, BAD, 5)
    assert service.api.get("/me", ip=BAD).status_code == 429
    time.sleep(2.2)
    assert service.api.get("/me", ip=BAD).status_code == 401  # blocked no more: the usual answer


def test_hits_spread_beyond_the_window_do_not_block(make_service):
    service = blocking_service(make_service, IP_BLOCK_WINDOW=1)
    assert hammer(service.api, BAD, 2) == [201, 201]
    for _ in range(4):  # one limit answer, then the window passes: never 3 within one
        assert hammer(service.api, BAD, 1) == [429]
        time.sleep(1.1)
    assert service.api.get("/me", ip=BAD).status_code == 401


def test_ipv6_clients_are_blocked_by_their_64(make_service):
    service = blocking_service(make_service)
    assert hammer(service.api, "2001:db8:1:2::1", 2) == [201, 201]
    hammer(service.api, "2001:db8:1:2::ffff", 3)  # same /64, another address: the same client
    assert service.api.get("/me", ip="2001:db8:1:2:abcd::7").status_code == 429
    assert service.api.get("/me", ip="2001:db8:1:3::1").status_code == 401
    [(detail, _actor)] = audit_rows(service.app, "ip.blocked")
    assert detail["network"] == "2001:db8:1:2::/64"


def test_loopback_is_never_blocked(make_service):
    service = blocking_service(make_service)
    assert hammer(service.api, "127.0.0.1", 8)[-1] == 429  # limited, as always
    assert service.api.get("/me").status_code == 401  # but never blocked
    assert audit_rows(service.app, "ip.blocked") == []


def test_admins_block_list_and_lift_through_the_api(app, api, admin_token):
    added = api.post("/admin/ip-blocks", token=admin_token, json={
        "network": "198.51.100.0/24", "reason": "scraping the sign-in page", "hours": 2})
    assert added.status_code == 201, added.get_json()
    block = added.get_json()
    assert block["network"] == "198.51.100.0/24" and block["kind"] == "manual" and block["created_by"] == "boss"
    v6 = api.post("/admin/ip-blocks", token=admin_token, json={
        "network": "2001:db8:aa:bb::5", "reason": "one line", "hours": 1}).get_json()
    assert v6["network"] == "2001:db8:aa:bb::/64"  # widened to the /64 every limit counts by
    # in force for every address inside, on every endpoint; not outside
    assert api.get("/me", ip="198.51.100.77").status_code == 429
    assert api.post("/captcha", ip="198.51.100.1").status_code == 429
    assert api.get("/me", ip="2001:db8:aa:bb:1:2:3:4").status_code == 429
    assert api.get("/me", ip="198.51.101.1").status_code == 401
    assert app.test_client().get("/login", environ_base={"REMOTE_ADDR": "198.51.100.5"}).status_code == 429
    listed = api.get("/admin/ip-blocks", token=admin_token).get_json()
    assert listed["total"] == 2 and {b["network"] for b in listed["items"]} == {"198.51.100.0/24", "2001:db8:aa:bb::/64"}
    # lift by CIDR and by id
    assert api.delete("/admin/ip-blocks/198.51.100.0/24", token=admin_token).status_code == 200
    assert api.delete(f"/admin/ip-blocks/{v6['id']}", token=admin_token).status_code == 200
    assert api.get("/me", ip="198.51.100.77").status_code == 401
    assert api.get("/admin/ip-blocks", token=admin_token).get_json()["total"] == 0
    missing = api.delete("/admin/ip-blocks/198.51.100.0/24", token=admin_token)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    blocked = audit_rows(app, "ip.blocked")
    lifted = audit_rows(app, "ip.unblocked")
    assert [d["network"] for d, _a in blocked] == ["198.51.100.0/24", "2001:db8:aa:bb::/64"]
    assert blocked[0][0]["reason"] == "scraping the sign-in page" and blocked[0][1] is not None
    assert [(d["network"], d["reason"]) for d, _a in lifted] == [
        ("198.51.100.0/24", "lifted by an admin"), ("2001:db8:aa:bb::/64", "lifted by an admin")]


@pytest.mark.parametrize("body,field", [
    ({"network": "not an ip", "reason": "x"}, "network"),
    ({"network": "10.0.0.0/4", "reason": "x"}, "network"),
    ({"network": "127.0.0.1", "reason": "x"}, "network"),
    ({"network": "10.0.0.1", "reason": " "}, "reason"),
    ({"network": "10.0.0.1", "reason": "x", "hours": 0}, "hours"),
])
def test_bad_blocks_are_refused_with_a_reason(api, admin_token, body, field):
    refused = api.post("/admin/ip-blocks", token=admin_token, json=body)
    assert refused.status_code in (400, 422), refused.get_json()
    assert field in refused.get_json()["error"]["fields"]


def test_an_admin_cannot_block_his_own_network_without_confirming(app, api, admin_token):
    mine = "192.0.2.44"
    refused = api.post("/admin/ip-blocks", token=admin_token, ip=mine,
                       json={"network": "192.0.2.0/24", "reason": "oops"})
    assert refused.status_code == 409 and "192.0.2.44" in refused.get_json()["error"]["fields"]["confirm"][0]
    assert api.get("/admin/ip-blocks", token=admin_token, ip=mine).get_json()["total"] == 0
    confirmed = api.post("/admin/ip-blocks", token=admin_token, ip=mine,
                         json={"network": "192.0.2.0/24", "reason": "on purpose", "confirm": True})
    assert confirmed.status_code == 201
    assert api.get("/admin/ip-blocks", token=admin_token, ip=mine).status_code == 429  # locked out, as warned
    # the CLI on the server still lifts it
    result = app.test_cli_runner().invoke(args=["ip-blocks", "remove", "192.0.2.0/24"])
    assert result.exit_code == 0 and "lifted 192.0.2.0/24" in result.output
    assert api.get("/admin/ip-blocks", token=admin_token, ip=mine).status_code == 200


def test_the_cli_adds_lists_and_removes(app):
    runner = app.test_cli_runner()
    added = runner.invoke(args=["ip-blocks", "add", "2001:db8:5::/48", "--reason", "abuse", "--hours", "3"])
    assert added.exit_code == 0 and "blocked 2001:db8:5::/48" in added.output
    listed = runner.invoke(args=["ip-blocks", "list"])
    assert "2001:db8:5::/48\tmanual" in listed.output and "abuse" in listed.output
    bad = runner.invoke(args=["ip-blocks", "add", "300.1.1.1", "--reason", "x"])
    assert bad.exit_code != 0 and "network" in bad.output
    assert runner.invoke(args=["ip-blocks", "remove", "2001:db8:5::/48"]).exit_code == 0
    assert runner.invoke(args=["ip-blocks", "list"]).output == ""


def test_admin_page_adds_and_lifts(app, browser):
    create_admin(app)
    sign_in(browser, name="boss", password=ADMIN_PASSWORD)
    page = browser.get("/admin")
    assert 'href="/admin/ip-blocks"' in page.get_data(as_text=True)
    added = browser.submit("/admin/ip-blocks", {"network": "198.51.100.7", "reason": "刷验证码", "hours": 5})
    assert added.status_code == 302
    listing = browser.get("/admin/ip-blocks").get_data(as_text=True)
    assert "198.51.100.7/32" in listing and "刷验证码" in listing and "管理员" in listing
    assert "已被封禁" in listing  # the flash
    # from his own address: refused until he ticks the confirmation, which the page then offers
    own = {"REMOTE_ADDR": "192.0.2.8"}
    browser.client.environ_base.update(own)
    refused = browser.submit("/admin/ip-blocks", {"network": "192.0.2.0/24", "reason": "x", "hours": 1})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "包含您自己的地址 192.0.2.8" in text and 'name="confirm"' in text
    confirmed = browser.submit("/admin/ip-blocks", {"network": "192.0.2.0/24", "reason": "on purpose",
                                                     "hours": 1, "confirm": "y"}, page="/admin")
    assert confirmed.status_code == 302
    # his session's pages are refused now too (the check rides on the session read)
    locked_out = browser.get("/admin/ip-blocks")
    assert locked_out.status_code == 429 and "来自您所在网络的请求过多" in locked_out.get_data(as_text=True)
    browser.client.environ_base.pop("REMOTE_ADDR")
    assert "192.0.2.0/24" in browser.get("/admin/ip-blocks").get_data(as_text=True)
    block_id = re.search(r'/admin/ip-blocks/([0-9a-f]+)/lift', listing).group(1)
    lifted = browser.submit(f"/admin/ip-blocks/{block_id}/lift", {}, page="/admin/ip-blocks")
    assert lifted.status_code == 302
    after = browser.get("/admin/ip-blocks").get_data(as_text=True)
    assert "已解除对 198.51.100.7/32 的封禁" in after and "192.0.2.0/24" in after


def test_redis_down_answers_503_not_500_and_health_stays_up(make_service, tmp_path):
    from .support import RedisServer

    own_redis = RedisServer(tmp_path).start()
    try:
        service = blocking_service(make_service, REDIS_URL=own_redis.url, RATELIMIT_STORAGE_URI=None)
        client = service.app.test_client()
        assert service.api.get("/me", ip=BAD).status_code == 401
        own_redis.stop()
        down = service.api.get("/me", ip=BAD)
        assert down.status_code == 503 and down.get_json()["error"]["code"] == "unavailable"
        page = client.get("/", environ_base={"REMOTE_ADDR": BAD})
        assert page.status_code == 503 and "服务暂时不可用" in page.get_data(as_text=True)
        assert client.get("/healthz", environ_base={"REMOTE_ADDR": BAD}).status_code == 200
    finally:
        own_redis.stop()


def test_code_send_limits_and_lockouts_count_too(make_service):
    """Whichever limit refuses (a send limit on the API, a lockout on the sign-in page), the
    refusals add up to the automatic block."""
    service = make_service(IP_BLOCK_AFTER=3, IP_BLOCK_WINDOW=60, IP_BLOCK_SECONDS=60,
                           SEND_LIMIT_PER_IP="1 per hour", LOGIN_CAPTCHA="never", LOGIN_LOCKOUT_THRESHOLD=1)
    api, ip = service.api, "192.0.2.200"
    service.register_user()
    sends = [api.post("/login-codes", ip=ip, json={"email": f"x{i}@example.com", **api.captcha(ip=ip)}).status_code
             for i in range(3)]
    assert sends == [202, 429, 429]
    page = service.app.test_client()
    page.environ_base["REMOTE_ADDR"] = ip
    from .support import Browser

    browser = Browser(page)
    locked = browser.submit("/login", {"login": "alice", "password": "wrong password!"})
    assert locked.status_code == 423  # the wrong password that locks (threshold 1): the third refusal
    blocked = api.post("/captcha", ip=ip)
    assert blocked.status_code == 429 and "网络" in blocked.get_json()["error"]["message"]
    [(detail, _actor)] = audit_rows(service.app, "ip.blocked")
    assert detail["last_status"] == 423


def test_ip_block_after_zero_switches_automatic_blocks_off(make_service, base_config):
    from authsvc import create_app

    service = blocking_service(make_service, IP_BLOCK_AFTER=0)
    hammer(service.api, BAD, 8)
    assert service.api.get("/me", ip=BAD).status_code == 401
    with pytest.raises(RuntimeError, match="IP_BLOCK_WINDOW"):
        create_app(dict(base_config, IP_BLOCK_WINDOW=0))
