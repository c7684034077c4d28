"""Recovery codes (issue 13): ten, shown once, stored as keyed hashes, single use (also under
concurrency), regenerable (the old set void), each use mailed with the count left."""

import threading
import time

from authsvc.extensions import db
from authsvc.models import RecoveryCode

from .support import Api, text_of
from .test_totp import PASSWORD, SETTINGS, enrol, sign_in


def _enrolled(make_service, **settings):
    service = make_service(**SETTINGS, **settings)
    _user, token = service.register_user()
    secret, first = enrol(service.api, token)
    return service, token, secret, first["recovery_codes"]


def test_ten_codes_stored_only_as_keyed_hashes(make_service):
    service, _token, _secret, codes = _enrolled(make_service)
    assert len(codes) == 10 and all(len(c) == 11 and c[5] == "-" for c in codes)
    with service.app.app_context():
        rows = db.session.query(RecoveryCode).all()
        stored = " ".join(r.code_hash for r in rows)
    assert len(rows) == 10 and all(len(r.code_hash) == 64 for r in rows)
    assert not any(c.replace("-", "") in stored for c in codes)


def test_a_code_signs_in_once_and_mails_the_count_left(make_service):
    service, _token, _secret, codes = _enrolled(make_service)
    api = service.api
    _answer, body = sign_in(api)
    done = api.post("/sessions/second-factor", json={"challenge": body["challenge"], "recovery_code": codes[0]})
    assert done.status_code == 200 and done.get_json()["recovery_codes_remaining"] == 9
    notice = service.mailbox.last("alice@example.com")
    assert "9" in text_of(notice) and "恢复码" in notice["Subject"]
    _answer, body = sign_in(api)
    again = api.post("/sessions/second-factor", json={"challenge": body["challenge"], "recovery_code": codes[0]})
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "invalid_code"
    # spelling does not matter: upper case, spaces instead of the dash
    spelled = codes[1].upper().replace("-", " ")
    assert api.post("/sessions/second-factor", json={"challenge": body["challenge"],
                                                    "recovery_code": spelled}).status_code == 200


def test_new_codes_void_the_old_and_need_the_password(make_service):
    service, token, _secret, old = _enrolled(make_service)
    api = service.api
    assert api.post("/me/recovery-codes", token=token, json={"password": "wrong password!"}).status_code == 401
    new = api.post("/me/recovery-codes", token=token, json={"password": PASSWORD}).get_json()["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    _answer, body = sign_in(api)
    assert api.post("/sessions/second-factor", json={"challenge": body["challenge"],
                                                    "recovery_code": old[2]}).status_code == 400
    assert api.post("/sessions/second-factor", json={"challenge": body["challenge"],
                                                    "recovery_code": new[2]}).status_code == 200


def test_no_codes_without_a_factor(make_service):
    service = make_service(**SETTINGS)
    _user, token = service.register_user()
    refused = service.api.post("/me/recovery-codes", token=token, json={"password": PASSWORD})
    assert refused.status_code == 404


def _ten_second_steps_at_once(service, field, value):
    """Ten sign-ins, each at its second step, answer it with the same `field` value at once:
    the statuses."""
    challenges = [sign_in(service.api)[1]["challenge"] for _ in range(10)]
    barrier = threading.Barrier(10)
    results = []

    def attempt(challenge):
        api = Api(service.app.test_client())
        barrier.wait()
        results.append(api.post("/sessions/second-factor", json={"challenge": challenge, field: value}).status_code)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in challenges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_one_code_sent_ten_times_at_once_signs_in_once(make_service):
    service, _token, _secret, codes = _enrolled(make_service, LOGIN_LOCKOUT_THRESHOLD=20)
    results = _ten_second_steps_at_once(service, "recovery_code", codes[5])
    assert sorted(results) == [200] + [400] * 9, results
    with service.app.app_context():
        assert db.session.query(RecoveryCode).filter(RecoveryCode.used_at.isnot(None)).count() == 1


def test_the_same_app_code_sent_ten_times_at_once_signs_in_once(make_service):
    service, _token, secret, _codes = _enrolled(make_service, LOGIN_LOCKOUT_THRESHOLD=20)
    import pyotp

    results = _ten_second_steps_at_once(service, "totp", pyotp.TOTP(secret).at(time.time() + 30))
    assert sorted(results) == [200] + [400] * 9, results
