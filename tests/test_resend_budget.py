"""A registration resend that names no registration of the address must not touch the
address's send budget, not even for the moment between the send-limit script and its refund.

Found in the attacker's pass over the two-round-trip code send (17a0135): the resend charged
the address (and the client) first and gave the charge back when the record turned out not to
exist. An attacker holding a few such requests in flight (threads and curl: any address, a
made-up registration id) filled the address's window, so the owner's own code request was
refused (429, minutes of Retry-After) while the attacker's requests answered 400 and never
counted towards a block. The requests are held inside the real code at the record check
(the point between the charge and the refund) to make the interleaving repeatable.
"""

import threading

from authsvc.services import registration as registration_service

from .support import Api

VICTIM = "victim@example.com"


def hold_every_record_check(monkeypatch, count):
    """Every call of registration._record waits until `release`; `inside` once `count` are."""
    original = registration_service._record
    inside, release = threading.Semaphore(0), threading.Event()

    def held(*args, **kwargs):
        inside.release()
        assert release.wait(10), "the held request was never released"
        return original(*args, **kwargs)

    monkeypatch.setattr(registration_service, "_record", held)

    def all_inside():
        return all(inside.acquire(timeout=10) for _ in range(count))

    return all_inside, release


def test_unknown_registrations_in_flight_do_not_spend_the_owners_budget(make_service, monkeypatch):
    service = make_service(RESEND_COOLDOWN=0)  # the per-address window alone: 3 per 5 minutes
    app = service.app
    all_inside, release = hold_every_record_check(monkeypatch, 3)
    answers = []

    def bogus_resend(i):
        answers.append(Api(app.test_client()).post("/registrations/resend", json={
            "email": VICTIM, "registration_id": f"made-up-registration-{i}"}, ip="198.51.100.7"))

    threads = [threading.Thread(target=bogus_resend, args=(i,), daemon=True) for i in range(3)]
    for thread in threads:
        thread.start()
    try:
        assert all_inside()
        monkeypatch.undo()  # the owner's request runs the real code, unheld
        owner = Api(app.test_client()).register(email=VICTIM, username="victim", ip="203.0.113.5")
    finally:
        release.set()
        for thread in threads:
            thread.join(10)
    assert owner.status_code == 202, owner.get_json()
    # the attacker's requests were answered as unknown registrations, none charged
    assert sorted(a.status_code for a in answers) == [400, 400, 400]
    assert all(a.get_json()["error"]["code"] == "code_expired" for a in answers)
    owner_api = Api(app.test_client())
    statuses = [owner_api.resend_registration(VICTIM, ip="203.0.113.5").status_code for _ in range(3)]
    assert statuses == [202, 202, 429]  # the owner's whole budget of three was his own
