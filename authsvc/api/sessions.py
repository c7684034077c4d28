"""API: password sign-in, second step, code sign-in, sign-out, reauthentication, sessions."""

from flask import g, jsonify

from ..ratelimits import login_attempts as login_limit
from ..services import signin, tokens
from . import bp, schemas
from .bearer import token_required
from .inputs import accepts


def _signed_in(result):
    token, expires_in = tokens.issue_api_token(result.user, result.method)
    body = {"token": token, "expires_in": expires_in, "user": result.user.to_dict()}
    if result.device_token:
        body["device_token"] = result.device_token
    return jsonify(body), 200


@bp.post("/sessions")
@login_limit
@accepts(schemas.PasswordSignIn)
def create_session(body):
    result = signin.password_login(body.login, body.password, body.captcha_id,
                                   body.captcha_answer, body.device_token)
    return _signed_in_or_next_step(result)


def _signed_in_or_next_step(result):
    if isinstance(result, signin.SecondFactorChallenge):
        return jsonify({"status": "second_factor_required", "second_step": result.step,
                        "challenge": result.challenge, "email": result.email,
                        "expires_in": result.expires_in}), 202
    return _signed_in(result)


@bp.post("/sessions/second-factor")
@login_limit
@accepts(schemas.SecondStep)
def second_factor(body):
    return _signed_in(signin.complete_second_factor(body.challenge, body.code, body.password))


@bp.post("/sessions/second-factor/resend")
@accepts(schemas.ChallengeOnly)
def second_factor_resend(body):
    email = signin.resend_second_factor(body.challenge)
    return jsonify({"status": "code_sent", "email": email}), 202


@bp.post("/login-codes")
@accepts(schemas.EmailCaptcha)
def login_code(body):
    return jsonify(signin.request_login_code(body.email, body.captcha_id, body.captcha_answer)), 202


@bp.post("/sessions/code")
@login_limit
@accepts(schemas.CodeSignIn)
def code_session(body):
    return _signed_in_or_next_step(signin.code_login(body.email, body.code, body.device_token))


@bp.delete("/sessions/current")
@token_required
def delete_session():
    signin.sign_out(g.user, "api", token_hash=g.token["hash"])
    return "", 204


@bp.post("/sessions/reauthenticate")
@token_required
@login_limit
@accepts(schemas.PasswordOnly)
def reauthenticate(body):
    signin.reauthenticate(g.user, body.password)
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
