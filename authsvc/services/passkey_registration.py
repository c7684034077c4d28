"""Adding a passkey (WebAuthn registration): the options for navigator.credentials.create()
and the verification of the browser's answer (passkey_ceremony.py: the relying party and the
challenge).

- The user handle is a random 32-byte value given at the first passkey (users.passkey_handle),
  never the database id.
"""

import secrets

from flask import current_app
from flask_babel import gettext as _
from webauthn import generate_registration_options, verify_registration_response
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.structs import (AuthenticatorSelectionCriteria, ResidentKeyRequirement,
                                      UserVerificationRequirement)

from .. import keys
from ..errors import Conflict, InvalidInput
from ..extensions import db
from ..models import Passkey
from . import audit, passkeys
from .passkey_ceremony import ALGORITHMS, BAD_RESPONSE, TRANSPORTS, descriptor, options_answer, origin, rp_id, take

REGISTER = "register"


def _handle(user):
    if not user.passkey_handle:
        user.passkey_handle = bytes_to_base64url(secrets.token_bytes(32))
    return user.passkey_handle


# --- the ceremony ---------------------------------------------------------------------------------
def registration_options(user, bound):
    """Options for navigator.credentials.create(): a discoverable credential with user
    verification, none of the user's passkeys again. `bound`: the caller's token or session."""
    rows = passkeys.of(user)
    if len(rows) >= passkeys.MAX_PER_USER:
        raise Conflict(message=_("You have %(num)d passkeys, the most an account can have. Remove one first.",
                                 num=passkeys.MAX_PER_USER))
    options = generate_registration_options(
        rp_id=rp_id(), rp_name=current_app.config["SITE_NAME"], user_name=user.username,
        user_id=base64url_to_bytes(_handle(user)), user_display_name=user.username,
        timeout=keys.PASSKEY_CHALLENGE_TTL * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[descriptor(row) for row in rows], supported_pub_key_algs=ALGORITHMS)
    return options_answer(options, REGISTER, uid=user.id, bound=bound)


def register(user, challenge_id, credential, name, bound):
    """Verify the browser's answer to registration_options and store the passkey."""
    name = passkeys.clean_name(name)
    challenge = take(challenge_id, REGISTER, uid=user.id, bound=bound)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(),
            expected_origin=origin(), require_user_verification=True, supported_pub_key_algs=ALGORITHMS)
    except BAD_RESPONSE as exc:
        audit.record("factor.failed", "failure", user=user,
                     detail={"kind": "passkey", "stage": "enrol", "reason": str(exc)[:160]})
        raise InvalidInput({"credential": [_("The passkey could not be verified. Please try again.")]},
                           status=400) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.execute(db.select(Passkey.id).where(Passkey.credential_id == credential_id)).first():
        raise Conflict(message=_("This passkey is already registered."))
    response = credential.get("response") if isinstance(credential, dict) else None
    listed = (response or {}).get("transports")
    transports = [t for t in listed if isinstance(t, str) and t in TRANSPORTS][:8] if isinstance(listed, list) else []
    row = Passkey(user_id=user.id, credential_id=credential_id, public_key=verified.credential_public_key,
                  sign_count=verified.sign_count, transports=transports, aaguid=verified.aaguid, name=name,
                  backup_eligible=verified.credential_device_type == "multi_device",
                  backed_up=verified.credential_backed_up)
    db.session.add(row)
    db.session.flush()
    audit.record("factor.enrolled", user=user, detail={"kind": "passkey", "passkey": row.id, "name": name,
                                                       "aaguid": verified.aaguid})
    return row
