"""API: password reset by emailed code (the pages' twin is web/recovery.py)."""

from flask import jsonify

from ..services import ipblocks, recovery, tokens
from . import bp, replies, schemas
from .declare import CAPTCHA_ERRORS, CODE_ERRORS, SENT, Answer, operation
from .inputs import accepts


@bp.post("/password-resets")
@ipblocks.checked_by_send_limits
@operation("account_password_reset", "Mail a password reset code", {202: SENT},
           errors=(*CAPTCHA_ERRORS, 422, 429))
@accepts(schemas.EmailCaptcha)
def password_reset(body):
    return jsonify(recovery.request_reset(body.email, body.captcha_id, body.captcha_answer,
                                                  body.captcha_pow)), 202


@bp.post("/password-resets/confirm")
@operation("account_password_reset_confirm", "Set a new password with the code; ends every session and token",
           {200: Answer(replies.PasswordReset, "Password reset")}, errors=CODE_ERRORS)
@accepts(schemas.ResetConfirm)
def password_reset_confirm(body):
    user, signed_in = recovery.confirm_reset(body.email, body.code, body.new_password)
    answer = {"status": "password_reset", "user": user.to_dict()}
    if signed_in:
        answer["token"], answer["expires_in"] = tokens.issue_api_token(user, signed_in.method)
    return jsonify(answer)
