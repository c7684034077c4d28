"""API: captcha and registration."""

import base64

from flask import jsonify

from ..ratelimits import captcha_images
from ..services import captcha, ipblocks, registration, tokens
from . import bp, replies, schemas
from .declare import CAPTCHA_ERRORS, CODE_ERRORS, Answer, operation, token_links
from .inputs import accepts


@bp.post("/captcha")
@operation("registration_captcha", "A new captcha: a picture, a proof of work or both (CAPTCHA_MODE; single use, CAPTCHA_TTL)", {
    201: Answer(replies.Captcha, "A captcha", {"register": {
        "operationId": "registration_start", "requestBody": {"captcha_id": "$response.body#/captcha_id"}}})},
    errors=(429,))
@captcha_images
def new_captcha():
    issued = captcha.issue()
    body = {"captcha_id": issued.captcha_id, "expires_in": issued.expires_in, "mode": captcha.mode()}
    if issued.png is not None:
        body["image"] = "data:image/png;base64," + base64.b64encode(issued.png).decode()
    if issued.challenge is not None:
        body["pow"] = issued.challenge
    return jsonify(body), 201


@bp.post("/registrations")
@ipblocks.checked_by_send_limits
@operation("registration_start", "Start a registration: the code is mailed", {
    202: Answer(replies.VerificationSent, "Verification code sent")},
    errors=(*CAPTCHA_ERRORS, 403, 409, 422, 429))
@accepts(schemas.RegistrationStart)
def register(body):
    answer = registration.start_registration(
        body.email, body.username, body.password, invite_code=body.invite_code,
        captcha_id=body.captcha_id, captcha_answer=body.captcha_answer,
        captcha_pow=body.captcha_pow)
    return jsonify(answer), 202


@bp.post("/registrations/resend")
@ipblocks.checked_by_send_limits
@operation("registration_resend", "Mail a new registration code", {
    202: Answer(replies.VerificationSent, "A new code for this registration was mailed")},
    errors=(400, 422, 429))
@accepts(schemas.RegistrationResend)
def resend(body):
    return jsonify(registration.resend_code(body.email, body.registration_id)), 202


@bp.post("/registrations/confirm")
@operation("registration_confirm", "Confirm the code: creates the account", {
    201: Answer(replies.TokenGrant, "Account created and signed in", token_links())},
    errors=(*CODE_ERRORS, 409))
@accepts(schemas.RegistrationConfirm)
def confirm(body):
    user = registration.confirm_registration(body.email, body.code, body.registration_id)
    token, expires_in = tokens.issue_api_token(user, "password")
    return jsonify({"user": user.to_dict(), "token": token, "expires_in": expires_in}), 201

