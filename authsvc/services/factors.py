"""Second factors a user enrolled, and how they take part in sign-in.

The order is the strength: passkey → app → recovery code. With any factor enrolled, every password sign-in and every sign-in by emailed
code asks for the strongest one (a recovery code is offered beside it), whatever
LOGIN_SECOND_FACTOR says: whoever set up an app expects it to be asked each time. With a
passkey and an app, the passkey step accepts the app's code too (the phone may be the one at
hand). The emailed
second step (LOGIN_SECOND_FACTOR=always|new_device) stays for users with nothing stronger.

A passkey is also a whole sign-in of its own (signin.passkey_login): no password, no second
step. A wrong app code or recovery code (or a passkey answer that does not verify) takes an attempt slot of the account, like a wrong password
(attempts.py): parallel guesses are bounded by the same lockout, and the lock is shared.
"""

import time

from flask import current_app
from flask_babel import gettext as _

from ..errors import (Forbidden, InvalidInput, NotFound, ReauthenticationRequired,
                      SecondFactorRequired, WrongFactorCode)
from . import attempts, audit, mail, passkey_registration, passkey_signin, passkeys, recovery_codes, tokens, totp

PASSKEY, TOTP, RECOVERY_CODE = "passkey", "totp", "recovery_code"
ORDER = (PASSKEY, TOTP)  # strongest first


def enrolled(user):
    """The user's factors, strongest first (recovery codes are not a factor of their own)."""
    have = {PASSKEY: lambda: passkeys.count(user) > 0, TOTP: lambda: totp.factor(user) is not None}
    return [kind for kind in ORDER if have[kind]()]


def second_step(user):
    """The step a sign-in of this user must pass beyond the first, or None (nothing enrolled)."""
    kinds = enrolled(user)
    return kinds[0] if kinds else None


def alternatives(user, step):
    """What else the second step accepts: the app beside a passkey, a recovery code while any
    is left."""
    others = [TOTP] if step == PASSKEY and totp.factor(user) is not None else []
    return others + ([RECOVERY_CODE] if step != RECOVERY_CODE and recovery_codes.remaining(user) else [])


def overview(user):
    """For the account page and GET /me/factors."""
    row = totp.factor(user)
    app = {"enrolled": row is not None}
    if row is not None:
        app.update(created_at=row.created_at, last_used_at=row.last_used_at)
    return {"totp": app, "passkeys": [passkeys.describe(row) for row in passkeys.of(user)],
            "recovery_codes_remaining": recovery_codes.remaining(user), "second_step": second_step(user)}


# --- sign-in ----------------------------------------------------------------------------------
def verify(user, totp_code=None, recovery_code=None, passkey=None):
    """Check the answer of a pending second step inside an attempt slot of the account: a
    passkey (challenge_id, credential, the step it is bound to), the app's code or a recovery
    code. Returns what the step used and, for a recovery code, how many are left."""
    if passkey is not None and passkey[0] and passkey[1]:
        _owner, row = passkey_signin.authenticate(passkey[0], passkey[1], passkey_signin.SECOND_STEP, user=user, step=passkey[2])
        audit.record("factor.used", user=user, detail={"kind": PASSKEY, "passkey": row.id})
        return {"used": PASSKEY}
    if not totp_code and not recovery_code:
        raise InvalidInput({"totp": [_("Please enter the 6-digit code from your authenticator app.")]}, status=400)
    slot = attempts.reserve(f"u{user.id}")  # AccountLocked while locked or all tries in flight
    try:
        if recovery_code:
            outcome = totp.OK if recovery_codes.use(user, recovery_code) else totp.WRONG
        else:
            outcome = totp.check(user, totp_code)
    except Exception:
        attempts.settle(slot, "void")
        raise
    kind = RECOVERY_CODE if recovery_code else TOTP
    if outcome != totp.OK:
        left = attempts.failed(slot, user, user.email, "factor.failed",
                               {"kind": kind, "reason": outcome}, kind)
        if outcome == totp.REPLAYED:
            raise WrongFactorCode(_("This code was already used. Please wait for the next code in your app."), left)
        if kind == RECOVERY_CODE:
            raise WrongFactorCode(_("This recovery code is wrong or was already used."), left)
        raise WrongFactorCode(remaining=left)
    attempts.settle(slot, "ok")
    if kind == TOTP:
        audit.record("factor.used", user=user, detail={"kind": TOTP})
        return {"used": TOTP}
    left = recovery_codes.remaining(user)
    audit.record("recovery_code.used", user=user, detail={"remaining": left})
    mail.security_alert(user, "recovery_code_used", remaining=left)
    return {"used": RECOVERY_CODE, "recovery_codes_remaining": left}


# --- managing them ----------------------------------------------------------------------------
def start_app(user):
    return totp.start_enrolment(user)


def confirm_app(user, code):
    """Finish enrolling the app; returns the first set of recovery codes (shown once), or None
    when the user still holds unused codes."""
    totp.confirm_enrolment(user, code)
    mail.security_alert(user, "factor_added", factor="totp")
    return recovery_codes.first_set(user)


def _confirm_password(user, password, password_at):
    """Removing a factor or replacing recovery codes: the password, given now or confirmed
    within REAUTH_SECONDS (the pages' confirm-password step)."""
    if password:
        from . import signin  # signin imports second_step, which imports this module

        signin.reauthenticate(user, password)
    elif time.time() - float(password_at or 0) > current_app.config["REAUTH_SECONDS"]:
        raise ReauthenticationRequired()


def remove_app(user, password=None, password_at=None):
    """Remove the authenticator app after a recent password; the owner is told. With no
    factor left, the recovery codes go too (the next factor brings a new set)."""
    if totp.factor(user) is None:
        raise NotFound(_("No authenticator app is set up."))
    _confirm_password(user, password, password_at)
    totp.remove(user)
    if not enrolled(user):
        recovery_codes.void(user)
    mail.security_alert(user, "factor_removed", factor="totp")


def add_passkey(user, challenge_id, credential, name, bound):
    """Finish registering a passkey; the owner is told. Returns (the passkey as listed, the
    first set of recovery codes or None), as confirm_app."""
    row = passkey_registration.register(user, challenge_id, credential, name, bound)
    mail.security_alert(user, "passkey_added", passkey_name=row.name)
    return passkeys.describe(row), recovery_codes.first_set(user)


def rename_passkey(user, passkey_id, name):
    return passkeys.describe(passkeys.rename(user, passkey_id, name))


def remove_passkey(user, passkey_id, password=None, password_at=None):
    """Remove a passkey after a recent password (or passkey) confirmation; the owner is told.
    With no factor left, the recovery codes go too."""
    passkeys.one(user, passkey_id)  # 404 before asking for the password
    _confirm_password(user, password, password_at)
    name = passkeys.remove(user, passkey_id)
    if not enrolled(user):
        recovery_codes.void(user)
    mail.security_alert(user, "passkey_removed", passkey_name=name)


def regenerate_codes(user, password=None, password_at=None):
    """A new set of recovery codes (the old ones stop working) for a user with a factor."""
    if not enrolled(user):
        raise NotFound(_("Recovery codes come with a passkey or an authenticator app. Set one up first."))
    _confirm_password(user, password, password_at)
    return recovery_codes.generate(user)



# --- admins -----------------------------------------------------------------------------------
def require_for_admin(user):
    """ADMIN_REQUIRE_MFA: the admin area is closed to an admin with no passkey or app."""
    if current_app.config["ADMIN_REQUIRE_MFA"] and not enrolled(user):
        raise SecondFactorRequired()


def reset_by_admin(user, actor, factor_at=None, totp_code=None, recovery_code=None):
    """An admin removes every second factor of someone who lost them all: the app, passkeys and
    recovery codes go, every session and token of the user ends, the user is mailed. The admin
    proves his own second factor: a code now, or a sign-in through it within REAUTH_SECONDS."""
    if user.id == actor.id:
        raise Forbidden(_("Change your own second factors on your account page."))
    removed = enrolled(user)
    if not removed and not recovery_codes.remaining(user):
        raise NotFound(_("This account has no second factor to reset."))
    if totp_code or recovery_code:
        verify(actor, totp_code, recovery_code)
    elif not enrolled(actor):
        raise SecondFactorRequired(_("Set up your own authenticator app or passkey first: resetting "
                                     "someone's second factors needs yours."))
    elif time.time() - float(factor_at or 0) > current_app.config["REAUTH_SECONDS"]:
        raise SecondFactorRequired(_("Enter a code from your own authenticator app to confirm it is you."))
    totp.remove(user)
    passkeys.remove_all(user)
    recovery_codes.void(user)
    tokens.end_all(user)
    audit.record("admin.factors_reset", user=user, actor=actor, detail={"removed": removed})
    mail.security_alert(user, "factors_reset")
    return user
