"""A pending registration belongs to whoever started it (issue 11, item 1).

Before: `reg:<address>` held only the newest registration for an address, so a stranger's
later registration replaced the owner's, and the owner's own inbox code created the
stranger's account (his username, his password) on the owner's verified address.
"""

from concurrent.futures import ThreadPoolExecutor

from authsvc.extensions import db
from authsvc.models import User

from .support import Api, text_of


def _start(service, email, username, password, ip):
    response = Api(service.app.test_client()).register(email=email, username=username,
                                                       password=password, ip=ip)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["registration_id"]


def _owner_then_another(make_service, username):
    """bob01 starts a registration for bob@example.com, then `username` starts another one
    for the same address from another IP: (service, owner's id, owner's code, the other id)."""
    service = make_service(RESEND_COOLDOWN=0)
    owner = _start(service, "bob@example.com", "bob01", "owner passphrase 1", "10.1.0.1")
    owner_code = service.mailbox.code("bob@example.com")
    other = _start(service, "bob@example.com", username, "another passphrase 2", "10.1.0.2")
    return service, owner, owner_code, other


def test_a_later_registration_cannot_take_over_the_owners(make_service):
    service, owner, owner_code, attacker = _owner_then_another(make_service, "evil01")
    box = service.mailbox
    attacker_code = box.code("bob@example.com")  # lands in bob's inbox, not the attacker's
    assert len(owner) >= 22 and owner != attacker  # >= 128 bits, url-safe

    # the attacker's mail names his username, so the owner sees what he did not start
    assert "evil01" in text_of(box.last("bob@example.com"))

    api = Api(service.app.test_client())
    # the second code does not confirm the owner's registration, nor the other way round
    crossed = api.post("/registrations/confirm", json={
        "email": "bob@example.com", "code": attacker_code, "registration_id": owner})
    if attacker_code != owner_code:
        assert crossed.status_code == 400
    # the owner's own code still works: the later registration voided nothing
    confirmed = api.post("/registrations/confirm", json={
        "email": "bob@example.com", "code": owner_code, "registration_id": owner})
    assert confirmed.status_code == 201, confirmed.get_json()
    assert confirmed.get_json()["user"]["username"] == "bob01"
    signed_in = api.post("/sessions", json={"login": "bob@example.com", "password": "owner passphrase 1"})
    assert signed_in.status_code == 200

    # the first confirmation took the address: the other pending record is void
    late = api.post("/registrations/confirm", json={
        "email": "bob@example.com", "code": attacker_code, "registration_id": attacker})
    assert late.status_code == 409
    assert late.get_json()["error"]["code"] == "conflict"
    with service.app.app_context():
        assert [u.username for u in db.session.query(User).all()] == ["bob01"]


def test_the_verification_mail_names_the_username_in_both_languages(make_service):
    service = make_service()
    api = service.api
    api.register(email="carol@example.com", username="carol01")
    assert "您正在注册用户名 carol01" in text_of(service.mailbox.last("carol@example.com"))
    api.register(email="dave@example.com", username="dave01", headers={"Accept-Language": "en"})
    assert "You are creating the account dave01" in text_of(service.mailbox.last("dave@example.com"))


def test_confirm_and_resend_need_the_registration_id(api, mailbox):
    answer = api.register().get_json()
    code = mailbox.code("alice@example.com")
    for path, body in (("/registrations/confirm", {"email": "alice@example.com", "code": code}),
                       ("/registrations/resend", {"email": "alice@example.com"})):
        response = api.post(path, json=body)
        assert response.status_code == 400
        assert "registration_id" in response.get_json()["error"]["fields"]
    # an id that was never issued, or one used with another address, confirms nothing
    for rid, email in (("x" * 22, "alice@example.com"), (answer["registration_id"], "eve@example.com")):
        response = api.post("/registrations/confirm", json={"email": email, "code": code,
                                                             "registration_id": rid})
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "code_expired"
    ok = api.post("/registrations/confirm", json={"email": "alice@example.com", "code": code,
                                                  "registration_id": answer["registration_id"]})
    assert ok.status_code == 201


def test_resend_belongs_to_its_registration(make_service):
    service, first, first_code, second = _owner_then_another(make_service, "bob02")
    box = service.mailbox
    api = Api(service.app.test_client())
    resent = api.post("/registrations/resend", json={"email": "bob@example.com", "registration_id": second})
    assert resent.status_code == 202
    assert "bob02" in text_of(box.last("bob@example.com"))
    # resending the second registration's code leaves the first one's code working
    ok = api.post("/registrations/confirm", json={"email": "bob@example.com", "code": first_code,
                                                  "registration_id": first})
    assert ok.status_code == 201 and ok.get_json()["user"]["username"] == "bob01"


def test_send_limits_count_every_registration_of_an_address_together(make_service):
    service = make_service(RESEND_COOLDOWN=0)
    statuses = [Api(service.app.test_client()).register(
        email="bob@example.com", username=f"bob0{i}", ip=f"10.2.0.{i}").status_code for i in range(4)]
    assert statuses == [202, 202, 202, 429]


def test_concurrent_confirmations_of_two_registrations_make_one_account(make_service):
    service = make_service(RESEND_COOLDOWN=0)
    box = service.mailbox
    regs = []
    for i, (name, ip) in enumerate((("bob01", "10.3.0.1"), ("bob02", "10.3.0.2"))):
        rid = _start(service, "bob@example.com", name, f"lantern {i} quarry orchid", ip)
        regs.append((rid, box.code("bob@example.com")))

    def confirm(i):
        rid, code = regs[i % 2]
        return Api(service.app.test_client()).post("/registrations/confirm", json={
            "email": "bob@example.com", "code": code, "registration_id": rid}).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(confirm, range(16)))
    assert statuses.count(201) == 1, statuses
    assert all(s in (400, 409) for s in statuses if s != 201), statuses
    with service.app.app_context():
        assert db.session.query(User).filter_by(email="bob@example.com").count() == 1
