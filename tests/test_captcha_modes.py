"""One captcha interface for CAPTCHA_MODE image, pow and both (issue 14): the same rules,
proved the same way in each mode, through the API as a client meets them.

A solution is accepted once; a replay, an expired captcha, a wrong answer, a proof of work
made for another challenge and a challenge whose salt was altered are refused. The proof of
work is solved by the example in docs/api.md (tests/support/pow.py runs that very code).
"""

import base64
import json
import time

import pytest

from authsvc.services import captcha as captcha_service
from authsvc.services import captcha_pow

from .support import CAPTCHA_TEXT
from .support.pow import EXAMPLE, solve_pow

MODES = ("image", "pow", "both")


def _login_code(api, solved, email="alice@example.com"):
    return api.post("/login-codes", json={"email": email, **solved})


def _error(response):
    return response.status_code, response.get_json().get("error", {}).get("code")


def _payload(solved):
    return json.loads(base64.b64decode(solved["captcha_pow"]))


def _encode(payload):
    return base64.b64encode(json.dumps(payload).encode()).decode()


@pytest.fixture(params=MODES)
def mode_service(request, make_service):
    return make_service(CAPTCHA_MODE=request.param, RESEND_COOLDOWN=0)


@pytest.mark.parametrize("mode", MODES)
def test_the_captcha_names_its_mode_and_carries_its_parts(make_service, mode):
    body = make_service(CAPTCHA_MODE=mode).api.post("/captcha").get_json()
    assert body["mode"] == mode and body["expires_in"] == 300
    assert ("image" in body) == (mode != "pow")
    assert ("pow" in body) == (mode != "image")
    if "pow" in body:
        parameters = body["pow"]["parameters"]
        assert parameters["algorithm"] == "PBKDF2/SHA-256" and parameters["cost"] == 50
        assert parameters["expiresAt"] - time.time() == pytest.approx(300, abs=5)


def test_a_solved_captcha_is_accepted_once_and_a_replay_refused(mode_service, mailbox):
    api = mode_service.api
    solved = api.captcha()
    assert _login_code(api, solved).status_code == 202
    assert _error(_login_code(api, solved, "bob@example.com")) == (400, "captcha_invalid")
    assert len(mailbox.messages()) == 0  # login codes go to accounts only; none exist here


def test_every_part_the_mode_asks_for_is_required(mode_service):
    api = mode_service.api
    solved = api.captcha()
    mode = mode_service.app.config["CAPTCHA_MODE"]
    for missing in solved:
        partial = {k: v for k, v in solved.items() if k != missing}
        assert _error(_login_code(api, partial)) == (400, "captcha_required"), (mode, missing)


@pytest.mark.parametrize("mode", ("pow", "both"))
def test_missing_work_is_named_as_such_not_as_a_picture(make_service, mode):
    """In pow mode there is no picture to ask for: a form sent without the work (no scripts)
    was told "enter the characters shown in the picture"."""
    api = make_service(CAPTCHA_MODE=mode).api
    solved = {k: v for k, v in api.captcha().items() if k != "captcha_pow"}
    message = _login_code(api, solved).get_json()["error"]["message"]
    assert "自动验证" in message and "图片" not in message  # "automatic check", "picture" (zh by default)


@pytest.mark.parametrize("mode", MODES)
def test_an_expired_captcha_is_refused(make_service, mode):
    api = make_service(CAPTCHA_MODE=mode, CAPTCHA_TTL=1).api
    solved = api.captcha()
    time.sleep(2.1)
    assert _error(_login_code(api, solved)) == (400, "captcha_invalid")


@pytest.mark.parametrize("mode", ("image", "both"))
def test_a_wrong_answer_is_refused_and_spends_the_captcha(make_service, mode):
    api = make_service(CAPTCHA_MODE=mode).api
    solved = api.captcha()
    assert _error(_login_code(api, {**solved, "captcha_answer": "XXXX"})) == (400, "captcha_invalid")
    assert _error(_login_code(api, solved)) == (400, "captcha_invalid")


@pytest.mark.parametrize("mode", ("pow", "both"))
def test_wrong_work_is_refused_and_spends_the_captcha(make_service, mode):
    api = make_service(CAPTCHA_MODE=mode).api
    solved = api.captcha()
    payload = _payload(solved)
    key = payload["solution"]["derivedKey"]
    payload["solution"]["derivedKey"] = ("1" if key[0] == "0" else "0") + key[1:]  # not the key this work gives
    assert _error(_login_code(api, {**solved, "captcha_pow": _encode(payload)})) == (400, "captcha_invalid")
    assert _error(_login_code(api, solved)) == (400, "captcha_invalid")


@pytest.mark.parametrize("mode", ("pow", "both"))
def test_work_done_for_another_challenge_is_refused(make_service, mode):
    api = make_service(CAPTCHA_MODE=mode).api
    first, second = api.captcha(), api.captcha()
    mixed = _payload(second)
    mixed["solution"] = _payload(first)["solution"]  # first's counter and key, second's challenge
    assert _error(_login_code(api, {**second, "captcha_pow": _encode(mixed)})) == (400, "captcha_invalid")


@pytest.mark.parametrize("mode", ("pow", "both"))
def test_a_challenge_with_an_altered_salt_is_refused(make_service, mode):
    """The client may not make the work easier (or reuse old work) by changing the challenge:
    here the salt and, to make it solvable, the prefix; the work done honestly for those."""
    api = make_service(CAPTCHA_MODE=mode).api
    body = api.post("/captcha").get_json()
    altered = json.loads(json.dumps(body["pow"]))
    altered["parameters"].update(salt="00" * 16, keyPrefix="0")
    solved = {"captcha_pow": solve_pow(altered)}
    if "image" in body:
        solved.update(captcha_id=body["captcha_id"], captcha_answer=CAPTCHA_TEXT)
    assert _error(_login_code(api, solved)) == (400, "captcha_invalid")


@pytest.mark.parametrize("garbage", ["", "bm90IGpzb24=", "!!!", base64.b64encode(b'{"challenge": 1}').decode(),
                                     "A" * 5000])
def test_malformed_work_answers_400_never_500(make_service, garbage):
    api = make_service(CAPTCHA_MODE="pow").api
    status, code = _error(_login_code(api, {"captcha_pow": garbage}))
    assert status == 400 and code in ("captcha_required", "captcha_invalid", "invalid_input")


def test_a_picture_captcha_is_no_proof_of_work(make_service):
    """In both mode a page's picture-only captcha can't stand in for the work: the work must
    name a captcha we issued with a challenge."""
    service = make_service(CAPTCHA_MODE="both")
    with service.app.test_request_context():
        picture_only, _png = captcha_service.new_captcha()
    solved = {"captcha_id": picture_only, "captcha_answer": CAPTCHA_TEXT}
    assert _error(_login_code(service.api, solved)) == (400, "captcha_required")


def test_the_documented_example_solves_what_the_server_issues(make_service):
    """docs/api.md's algorithm, run as printed, against the server's own check."""
    assert "def solve_pow" in EXAMPLE and len(EXAMPLE.strip().splitlines()) <= 10
    service = make_service(CAPTCHA_MODE="pow", CAPTCHA_POW_COST=50000, CAPTCHA_POW_MAX=70)
    body = service.api.post("/captcha").get_json()
    started = time.process_time()
    answer = solve_pow(body["pow"])
    assert time.process_time() - started < 10
    with service.app.app_context():
        assert captcha_pow.solved_id(answer) == body["captcha_id"]
    assert _login_code(service.api, {"captcha_pow": answer}).status_code == 202


def test_the_modes_default_by_environment(make_app):
    from authsvc.config import finalise, from_environment

    assert make_app(CAPTCHA_MODE=None).config["CAPTCHA_MODE"] == "image"  # testing
    production = from_environment({"AUTHSVC_ENV": "production", "SECRET_KEY": "k" * 40,
                                   "PUBLIC_URL": "https://accounts.example.com"})
    assert finalise(production, "/tmp")["CAPTCHA_MODE"] == "both"
    with pytest.raises(RuntimeError, match="CAPTCHA_MODE"):
        make_app(CAPTCHA_MODE="audio")
