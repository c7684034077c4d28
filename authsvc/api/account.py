"""API: the signed-in account — /me, change password, change email, notification settings."""

from flask import g, jsonify

from ..services import mail, recovery, tokens
from . import bp, schemas
from .bearer import recent_password_required, token_required
from .inputs import accepts


@bp.get("/me")
@token_required
def me():
    return jsonify(g.user.to_dict())


@bp.post("/me/password")
@recent_password_required
@accepts(schemas.PasswordChange)
def change_password(body):
    recovery.change_password(g.user, body.current_password, body.new_password, keep=g.token["hash"])
    tokens.adopt_epoch(g.user, g.token["hash"])
    return jsonify({"status": "password_changed"})


@bp.post("/me/email")
@recent_password_required
@accepts(schemas.EmailChange)
def change_email(body):
    return jsonify(recovery.request_email_change(g.user, body.password, body.new_email)), 202


@bp.post("/me/email/confirm")
@recent_password_required
@accepts(schemas.CodeOnly)
def change_email_confirm(body):
    user = recovery.confirm_email_change(g.user, body.code)
    return jsonify({"user": user.to_dict()})


@bp.post("/me/notifications")
@token_required
@accepts(schemas.Notifications)
def notifications(body):
    mail.set_new_device(g.user, body.new_device)
    return jsonify({"new_device": g.user.notify_new_device})
