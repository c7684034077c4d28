"""API: password reset, change password, change email, notification settings."""

from flask import g, jsonify

from ..services import mail, recovery, tokens
from . import bp
from .auth import require_recent_password, token_required
from .inputs import json_body

PASSWORD_MAX = 4096


@bp.post("/password-resets")
def password_reset():
    body = json_body(email=(str, True), captcha_id=(str, False, 64), captcha_answer=(str, False, 16))
    return jsonify(recovery.request_reset(body["email"], body["captcha_id"], body["captcha_answer"])), 202


@bp.post("/password-resets/confirm")
def password_reset_confirm():
    body = json_body(email=(str, True), code=(str, True, 16), new_password=(str, True, PASSWORD_MAX))
    user, signed_in = recovery.confirm_reset(body["email"], body["code"], body["new_password"])
    answer = {"status": "password_reset", "user": user.to_dict()}
    if signed_in:
        answer["token"], answer["expires_in"] = tokens.issue_api_token(user, signed_in.method)
    return jsonify(answer)


@bp.post("/me/password")
@token_required
def change_password():
    require_recent_password()
    body = json_body(current_password=(str, True, PASSWORD_MAX), new_password=(str, True, PASSWORD_MAX))
    recovery.change_password(g.user, body["current_password"], body["new_password"], keep=g.token["hash"])
    tokens.adopt_epoch(g.user, g.token["hash"])
    return jsonify({"status": "password_changed"})


@bp.post("/me/email")
@token_required
def change_email():
    require_recent_password()
    body = json_body(password=(str, True, PASSWORD_MAX), new_email=(str, True))
    return jsonify(recovery.request_email_change(g.user, body["password"], body["new_email"])), 202


@bp.post("/me/email/confirm")
@token_required
def change_email_confirm():
    require_recent_password()
    body = json_body(code=(str, True, 16))
    user = recovery.confirm_email_change(g.user, body["code"])
    return jsonify({"user": user.to_dict()})


@bp.post("/me/notifications")
@token_required
def notifications():
    body = json_body(new_device=(bool, True))
    mail.set_new_device(g.user, body["new_device"])
    return jsonify({"new_device": g.user.notify_new_device})
