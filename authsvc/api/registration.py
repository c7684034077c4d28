"""API: captcha, registration, /me."""

import base64

from flask import g, jsonify

from .. import keys
from ..ratelimits import captcha_images
from ..services import captcha, registration, tokens
from . import bp
from .auth import token_required
from .inputs import json_body

PASSWORD_MAX_BYTES = 4096  # far above the policy's 128 characters; the policy answers in between


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
def register():
    body = json_body(email=(str, True), username=(str, True),
                     password=(str, True, PASSWORD_MAX_BYTES), invite_code=(str, False, 64),
                     captcha_id=(str, False, 64), captcha_answer=(str, False, 16))
    answer = registration.start_registration(
        body["email"], body["username"], body["password"], invite_code=body["invite_code"],
        captcha_id=body["captcha_id"], captcha_answer=body["captcha_answer"])
    return jsonify(answer), 202


@bp.post("/registrations/resend")
def resend():
    body = json_body(email=(str, True), registration_id=(str, True, 64))
    return jsonify(registration.resend_code(body["email"], body["registration_id"])), 202


@bp.post("/registrations/confirm")
def confirm():
    body = json_body(email=(str, True), code=(str, True, 16), registration_id=(str, True, 64))
    user = registration.confirm_registration(body["email"], body["code"], body["registration_id"])
    token, expires_in = tokens.issue_api_token(user, "password")
    return jsonify({"user": user.to_dict(), "token": token, "expires_in": expires_in}), 201


@bp.get("/me")
@token_required
def me():
    return jsonify(g.user.to_dict())
