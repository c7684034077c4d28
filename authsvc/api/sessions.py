"""API: password sign-in, second step, code sign-in, sign-out, reauthentication, sessions."""

from flask import g, jsonify

from ..ratelimits import login_attempts as login_limit
from ..services import ipblocks, signin, tokens
from . import bp, replies, schemas
from .declare import (CAPTCHA_ERRORS, CODE_ERRORS, CODE_LOGIN_OFF, NO_CONTENT, SENT, SIGNED_IN, Answer,
                      next_step, operation)
from .bearer import token_required
from .inputs import accepts


def signed_in_answer(result):
    token, expires_in = tokens.issue_api_token(result.user, result.method, result.factor)
    body = {"token": token, "expires_in": expires_in, "user": result.user.to_dict()}
    if result.device_token:
        body["device_token"] = result.device_token
    if result.recovery_codes_remaining is not None:
        body["recovery_codes_remaining"] = result.recovery_codes_remaining
    return jsonify(body), 200


@bp.post("/sessions")
@operation("sessions_password", "Sign in with a login name and password",
           {200: SIGNED_IN, 202: next_step("code, mailed; passkey or totp with one enrolled")},
           errors=(*CAPTCHA_ERRORS, (401, "invalid_credentials"), 422, 423, 429))
@login_limit
@accepts(schemas.PasswordSignIn)
def create_session(body):
    result = signin.password_login(body.login, body.password, body.captcha_id,
                                   body.captcha_answer, body.device_token, captcha_pow=body.captcha_pow)
    return _signed_in_or_next_step(result)


def _signed_in_or_next_step(result):
    if isinstance(result, signin.SecondFactorChallenge):
        body = {"status": "second_factor_required", "second_step": result.step,
                "challenge": result.challenge, "email": result.email, "expires_in": result.expires_in}
        if result.alternatives:
            body["alternatives"] = list(result.alternatives)
        if result.step == "passkey":
            body["passkey"] = signin.second_step_passkey_options(result.challenge)
        return jsonify(body), 202
    return signed_in_answer(result)


@bp.post("/sessions/second-factor")
@operation("sessions_second_factor",
           "Finish sign-in with the step due: the mailed code, the password after a code, a "
           "passkey (challenge_id + credential), the authenticator app's code (totp) or a recovery code",
           {200: SIGNED_IN}, errors=(*CODE_ERRORS, (401, "invalid_credentials"), 423))
@login_limit
@accepts(schemas.SecondStep)
def second_factor(body):
    passkey = (body.challenge_id, body.credential) if body.challenge_id and body.credential else None
    return signed_in_answer(signin.complete_second_factor(body.challenge, body.code, body.password,
                                                          body.totp, body.recovery_code, passkey))


@bp.post("/sessions/second-factor/resend")
@ipblocks.checked_by_send_limits
@operation("sessions_second_factor_resend", "Mail a new 2nd-step code", {
    202: Answer(replies.SecondFactorResent, "Code sent")}, errors=((400, "code_expired"), 429))
@accepts(schemas.ChallengeOnly)
def second_factor_resend(body):
    email = signin.resend_second_factor(body.challenge)
    return jsonify({"status": "code_sent", "email": email}), 202


@bp.post("/login-codes")
@ipblocks.checked_by_send_limits
@operation("sessions_login_code", "Mail a sign-in code (same answer for unknown addresses)", {202: SENT},
           errors=(*CAPTCHA_ERRORS, CODE_LOGIN_OFF, 422, 429))
@accepts(schemas.EmailCaptcha)
def login_code(body):
    return jsonify(signin.request_login_code(body.email, body.captcha_id, body.captcha_answer,
                                                   body.captcha_pow)), 202


@bp.post("/sessions/code")
@operation("sessions_code", "Sign in with a mailed code", {200: SIGNED_IN, 202: next_step("password, or passkey, or totp")},
           errors=(*CODE_ERRORS, CODE_LOGIN_OFF))
@login_limit
@accepts(schemas.CodeSignIn)
def code_session(body):
    return _signed_in_or_next_step(signin.code_login(body.email, body.code, body.device_token))


@bp.delete("/sessions/current")
@operation("sessions_delete_current", "Sign out: revoke this token", {204: NO_CONTENT})
@token_required
def delete_session():
    signin.sign_out(g.user, "api", token_hash=g.token["hash"])
    return "", 204


@bp.post("/sessions/reauthenticate")
@operation("sessions_reauthenticate", "Confirm the password (unlocks sensitive operations for a code-only token)",
           {200: Answer(replies.Reauthenticated, "Confirmed")},
           errors=((401, "invalid_credentials"), 423, 429))
@token_required
@login_limit
@accepts(schemas.PasswordOnly)
def reauthenticate(body):
    signin.reauthenticate(g.user, body.password)
    tokens.mark_token_reauthenticated(g.token["hash"])
    return jsonify({"status": "ok"})


@bp.get("/me/sessions")
@operation("account_sessions", "The account's live sessions and tokens", {
    200: Answer(replies.SessionList, "Sessions, newest activity first", {"end": {
        "operationId": "account_end_session", "parameters": {"path.public_id": "$response.body#/items/0/id"}}})})
@token_required
def list_sessions():
    items = tokens.list_sessions(g.user, current=g.token["hash"])
    return jsonify({"items": items, "total": len(items)})


@bp.delete("/me/sessions/<public_id>")
@operation("account_end_session", "End one session or token", {204: NO_CONTENT}, errors=(404,))
@token_required
def end_session(public_id):
    tokens.end_one(g.user, public_id, current=g.token["hash"])
    return "", 204


@bp.post("/me/sessions/end-others")
@operation("account_end_other_sessions", "End every session and token but this one", {
    200: Answer(replies.SessionsEnded, "Ended")})
@token_required
def end_other_sessions():
    return jsonify({"ended": tokens.end_others(g.user, g.token["hash"])})
