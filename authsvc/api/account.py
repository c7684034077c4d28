"""API: the signed-in account — /me, change password, change email, notification settings."""

from flask import g, jsonify

from ..services import mail, recovery, tokens
from . import bp, replies, schemas
from .declare import CODE_ERRORS, SENT, Answer, operation
from .bearer import recent_password_required, token_required
from .inputs import accepts


@bp.get("/me")
@operation("account_me", "The signed-in account", {200: Answer(replies.User, "The account")})
@token_required
def me():
    return jsonify(g.user.to_dict())


@bp.post("/me/password")
@operation("account_change_password", "Change the password; other sessions end", {
    200: Answer(replies.PasswordChanged, "Changed")}, errors=(422, 423))
@recent_password_required
@accepts(schemas.PasswordChange)
def change_password(body):
    recovery.change_password(g.user, body.current_password, body.new_password, keep=g.token["hash"])
    tokens.adopt_epoch(g.user, g.token["hash"])
    return jsonify({"status": "password_changed"})


@bp.post("/me/email")
@operation("account_change_email", "Change the email address: a code goes to the new one", {202: SENT},
           errors=(422, 423, 429))
@recent_password_required
@accepts(schemas.EmailChange)
def change_email(body):
    return jsonify(recovery.request_email_change(g.user, body.password, body.new_email)), 202


@bp.post("/me/email/confirm")
@operation("account_change_email_confirm", "Confirm the new address with its code", {
    200: Answer(replies.EmailChanged, "Changed; the old address is told")}, errors=(*CODE_ERRORS, 409))
@recent_password_required
@accepts(schemas.CodeOnly)
def change_email_confirm(body):
    user = recovery.confirm_email_change(g.user, body.code)
    return jsonify({"user": user.to_dict()})


@bp.post("/me/notifications")
@operation("account_notifications", "Mail me when a new device signs in", {
    200: Answer(replies.Notifications, "Saved")})
@token_required
@accepts(schemas.Notifications)
def notifications(body):
    mail.set_new_device(g.user, body.new_device)
    return jsonify({"new_device": g.user.notify_new_device})
