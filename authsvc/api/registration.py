"""API: captcha and registration."""

import base64

from flask import jsonify

from .. import keys
from ..ratelimits import captcha_images
from ..services import captcha, registration, tokens
from . import bp, schemas
from .inputs import accepts


@bp.post("/captcha")
@captcha_images
def new_captcha():
    captcha_id, png = captcha.new_captcha()
    return jsonify({
        "captcha_id": captcha_id,
        "image": "data:image/png;base64," + base64.b64encode(png).decode(),
        "expires_in": keys.captcha_ttl(),
    }), 201


@bp.post("/registrations")
@accepts(schemas.RegistrationStart)
def register(body):
    answer = registration.start_registration(
        body.email, body.username, body.password, invite_code=body.invite_code,
        captcha_id=body.captcha_id, captcha_answer=body.captcha_answer)
    return jsonify(answer), 202


@bp.post("/registrations/resend")
@accepts(schemas.RegistrationResend)
def resend(body):
    return jsonify(registration.resend_code(body.email, body.registration_id)), 202


@bp.post("/registrations/confirm")
@accepts(schemas.RegistrationConfirm)
def confirm(body):
    user = registration.confirm_registration(body.email, body.code, body.registration_id)
    token, expires_in = tokens.issue_api_token(user, "password")
    return jsonify({"user": user.to_dict(), "token": token, "expires_in": expires_in}), 201

