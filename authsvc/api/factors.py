"""API: the account's second factors — authenticator app (enrol, confirm, remove) and recovery
codes. Signing in with them is POST /sessions/second-factor (sessions.py)."""

from flask import g, jsonify

from ..models import iso
from ..ratelimits import login_attempts as login_limit
from ..services import factors
from . import bp, replies_factors, schemas
from .declare import Answer, operation
from .bearer import recent_password_required, token_required
from .inputs import accepts

PASSWORD_ERRORS = ((401, "invalid_credentials"), 404, 423, 429)


@bp.get("/me/factors")
@operation("factors_list", "The account's second factors and recovery codes left", {
    200: Answer(replies_factors.Factors, "Enrolled factors")})
@token_required
def list_factors():
    overview = factors.overview(g.user)
    app = {key: iso(value) if key != "enrolled" else value
           for key, value in overview["totp"].items() if value is not None}
    from .passkeys import listed

    return jsonify({**overview, "totp": app, "passkeys": [listed(item) for item in overview["passkeys"]]})


@bp.post("/me/factors/totp")
@operation("factors_totp_start", "Start enrolling an authenticator app: its secret, otpauth URI and QR code", {
    201: Answer(replies_factors.TotpEnrolment, "Scan the QR code (or type the secret), then confirm with a code", {
        "confirm": {"operationId": "factors_totp_confirm"}})}, errors=(409,))
@recent_password_required
def totp_start():
    return jsonify(factors.start_app(g.user)), 201


@bp.post("/me/factors/totp/confirm")
@operation("factors_totp_confirm", "Finish enrolling the app with a code it shows; the first time, "
           "ten recovery codes (shown this once)", {200: Answer(replies_factors.TotpEnrolled, "Enrolled")},
           errors=((400, "invalid_code", "code_expired"), 409))
@recent_password_required
@accepts(schemas.TotpConfirm)
def totp_confirm(body):
    codes = factors.confirm_app(g.user, body.code)
    answer = {"status": "enrolled"}
    if codes:
        answer["recovery_codes"] = codes
    return jsonify(answer)


@bp.post("/me/factors/totp/remove")
@operation("factors_totp_remove", "Remove the authenticator app (the password again; the owner is mailed)", {
    200: Answer(replies_factors.FactorRemoved, "Removed")}, errors=PASSWORD_ERRORS)
@token_required
@login_limit
@accepts(schemas.PasswordOnly)
def totp_remove(body):
    factors.remove_app(g.user, password=body.password)
    return jsonify({"status": "removed"})


@bp.post("/me/recovery-codes")
@operation("factors_recovery_codes", "Replace the recovery codes (the password again; the old ones stop working)",
           {200: Answer(replies_factors.RecoveryCodeSet, "The new codes, shown this once")}, errors=PASSWORD_ERRORS)
@token_required
@login_limit
@accepts(schemas.PasswordOnly)
def recovery_codes(body):
    return jsonify({"recovery_codes": factors.regenerate_codes(g.user, password=body.password)})
