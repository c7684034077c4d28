"""API: the account's passkeys (register, list, rename, remove) and signing in with one
(POST /sessions/passkey/options, then POST /sessions/passkey; as a second step the answer goes
to POST /sessions/second-factor)."""

from flask import g, jsonify

from ..models import iso
from ..ratelimits import login_attempts as login_limit
from ..services import factors, passkey_registration, passkeys, signin
from . import bp, replies, replies_factors, schemas
from .bearer import recent_password_required, token_required
from .declare import SIGNED_IN, Answer, operation
from .inputs import accepts
from .sessions import signed_in_answer

PASSWORD_ERRORS = ((401, "invalid_credentials"), 404, 423, 429)
OPTIONS = Answer(replies.PasskeyOptions, "Pass publicKey to navigator.credentials (after "
                 "PublicKeyCredential.parse…OptionsFromJSON); send the answer with challenge_id")


def listed(item):
    return {**item, "created_at": iso(item["created_at"]), "last_used_at": iso(item["last_used_at"])}


@bp.get("/me/passkeys")
@operation("passkeys_list", "The account's passkeys", {200: Answer(replies_factors.PasskeyList, "Oldest first")})
@token_required
def passkey_list():
    items = [listed(passkeys.describe(row)) for row in passkeys.of(g.user)]
    return jsonify({"items": items, "total": len(items)})


@bp.post("/me/passkeys/registration-options")
@operation("passkeys_registration_options", "Start adding a passkey: options for navigator.credentials.create()",
           {200: OPTIONS}, errors=(409,))
@recent_password_required
def passkey_registration_options():
    return jsonify(passkey_registration.registration_options(g.user, bound=g.token["hash"]))


@bp.post("/me/passkeys")
@operation("passkeys_register", "Finish adding a passkey with the browser's answer and a name; the first "
           "factor brings ten recovery codes (shown this once)", {
               201: Answer(replies_factors.PasskeyAdded, "Added; the owner is mailed")},
           errors=((400, "invalid_input", "code_expired"), 409, 422))
@recent_password_required
@accepts(schemas.PasskeyRegistration)
def passkey_register(body):
    item, codes = factors.add_passkey(g.user, body.challenge_id, body.credential, body.name, bound=g.token["hash"])
    answer = {"passkey": listed(item)}
    if codes:
        answer["recovery_codes"] = codes
    return jsonify(answer), 201


@bp.patch("/me/passkeys/<int:passkey_id>")
@operation("passkeys_rename", "Rename a passkey", {200: Answer(replies_factors.PasskeyItem, "Renamed")},
           errors=(404, 422))
@token_required
@accepts(schemas.PasskeyRename)
def passkey_rename(passkey_id, body):
    return jsonify(listed(factors.rename_passkey(g.user, passkey_id, body.name)))


@bp.post("/me/passkeys/<int:passkey_id>/remove")
@operation("passkeys_remove", "Remove a passkey (the password again; the owner is mailed)", {
    200: Answer(replies_factors.FactorRemoved, "Removed")}, errors=PASSWORD_ERRORS)
@token_required
@login_limit
@accepts(schemas.PasswordOnly)
def passkey_remove(passkey_id, body):
    factors.remove_passkey(g.user, passkey_id, password=body.password)
    return jsonify({"status": "removed"})


@bp.post("/sessions/passkey/options")
@operation("sessions_passkey_options", "Options for signing in with a passkey: any passkey of this site "
           "(no login name), or with `challenge` those of a pending passkey second step", {200: OPTIONS},
           errors=((400, "invalid_input", "code_expired"),))
@accepts(schemas.PasskeyOptionsRequest)
def passkey_sign_in_options(body):
    if body.challenge:
        return jsonify(signin.second_step_passkey_options(body.challenge))
    return jsonify(signin.passkey_options())


@bp.post("/sessions/passkey")
@operation("sessions_passkey", "Sign in with a passkey alone (user verification on the device; no "
           "password, no second step)", {200: SIGNED_IN},
           errors=((400, "invalid_input", "code_expired"), (401, "invalid_credentials"), 423, 429))
@login_limit
@accepts(schemas.PasskeySignIn)
def passkey_sign_in(body):
    return signed_in_answer(signin.passkey_login(body.challenge_id, body.credential, body.device_token))
