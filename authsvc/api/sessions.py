"""API: password sign-in, second step, code sign-in, sign-out, reauthentication, sessions."""

from flask import g, jsonify

from ..ratelimits import login_attempts as login_limit
from ..services import signin, tokens
from . import bp
from .auth import token_required
from .inputs import json_body

PASSWORD_MAX = 4096


def _signed_in(result):
    token, expires_in = tokens.issue_api_token(result.user, result.method)
    body = {"token": token, "expires_in": expires_in, "user": result.user.to_dict()}
    if result.device_token:
        body["device_token"] = result.device_token
    return jsonify(body), 200


@bp.post("/sessions")
@login_limit
def create_session():
    body = json_body(login=(str, True, 254), password=(str, True, PASSWORD_MAX),
                     captcha_id=(str, False, 64), captcha_answer=(str, False, 16),
                     device_token=(str, False, 128))
    result = signin.password_login(body["login"], body["password"], body["captcha_id"],
                                   body["captcha_answer"], body["device_token"])
    return _signed_in_or_next_step(result)


def _signed_in_or_next_step(result):
    if isinstance(result, signin.SecondFactorChallenge):
        return jsonify({"status": "second_factor_required", "second_step": result.step,
                        "challenge": result.challenge, "email": result.email,
                        "expires_in": result.expires_in}), 202
    return _signed_in(result)


@bp.post("/sessions/second-factor")
@login_limit
def second_factor():
    body = json_body(challenge=(str, True, 64), code=(str, False, 16), password=(str, False, PASSWORD_MAX))
    return _signed_in(signin.complete_second_factor(body["challenge"], body["code"], body["password"]))


@bp.post("/sessions/second-factor/resend")
def second_factor_resend():
    body = json_body(challenge=(str, True, 64))
    email = signin.resend_second_factor(body["challenge"])
    return jsonify({"status": "code_sent", "email": email}), 202


@bp.post("/login-codes")
def login_code():
    body = json_body(email=(str, True), captcha_id=(str, False, 64), captcha_answer=(str, False, 16))
    return jsonify(signin.request_login_code(body["email"], body["captcha_id"], body["captcha_answer"])), 202


@bp.post("/sessions/code")
@login_limit
def code_session():
    body = json_body(email=(str, True), code=(str, True, 16), device_token=(str, False, 128))
    return _signed_in_or_next_step(signin.code_login(body["email"], body["code"], body["device_token"]))


@bp.delete("/sessions/current")
@token_required
def delete_session():
    signin.sign_out(g.user, "api", token_hash=g.token["hash"])
    return "", 204


@bp.post("/sessions/reauthenticate")
@token_required
@login_limit
def reauthenticate():
    body = json_body(password=(str, True, PASSWORD_MAX))
    signin.reauthenticate(g.user, body["password"])
    tokens.mark_token_reauthenticated(g.token["hash"])
    return jsonify({"status": "ok"})


@bp.get("/me/sessions")
@token_required
def list_sessions():
    items = tokens.list_sessions(g.user, current=g.token["hash"])
    return jsonify({"items": items, "total": len(items)})


@bp.delete("/me/sessions/<public_id>")
@token_required
def end_session(public_id):
    tokens.end_one(g.user, public_id, current=g.token["hash"])
    return "", 204
