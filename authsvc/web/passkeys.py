"""Pages for passkeys: add one (named by the user), rename it, remove it; sign in with one (the
login field's autofill and a button, no login name); confirm the password step with one.

The browser side is static/js/passkeys.js: it fetches WebAuthn options from an `…/options`
endpoint here (a same-origin POST with the CSRF token), asks navigator.credentials, and posts
the answer back in an ordinary form. The challenge_id stays in the server-side session: only
the browser session that asked can answer.
"""

import json
import time

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import ReauthenticationRequired, ServiceError
from ..ratelimits import login_attempts as login_limit
from ..services import factors, passkey_registration, passkeys, signin
from .auth import DEVICE_COOKIE, _finish
from .auth_helpers import apply_error, password_session_required, safe_next
from .forms import EmptyForm, PasskeyNameForm, PasskeySignInForm

bp = Blueprint("passkeys", __name__)
WEB = "web"  # what a page's registration challenge is bound to (beside the user); the session holds its id


def remember(purpose, challenge_id):
    session["passkey_challenges"] = {**session.get("passkey_challenges", {}), purpose: challenge_id}


def take(purpose):
    pending = dict(session.get("passkey_challenges", {}))
    challenge_id = pending.pop(purpose, None)
    session["passkey_challenges"] = pending
    return challenge_id


def answer_of(form):
    """The credential JSON the script put in the form, or None."""
    try:
        value = json.loads(form.credential.data or "null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def options_answer(purpose, make):
    """A JSON answer for the script: the publicKey options; the challenge_id stays here."""
    try:
        options = make()
    except ServiceError as error:
        return jsonify({"error": {"code": error.code, "message": error.message}}), error.status
    remember(purpose, options["challenge_id"])
    return jsonify({"publicKey": options["publicKey"]})


# --- the account's passkeys -------------------------------------------------------------------
@bp.post("/account/passkeys/options")
@password_session_required
def registration_options():
    return options_answer("register", lambda: passkey_registration.registration_options(current_user._get_current_object(), WEB))


@bp.route("/account/passkeys/new", methods=["GET", "POST"])
@password_session_required
def add():
    form = PasskeyNameForm()
    status = 200
    if form.validate_on_submit():
        try:
            _item, codes = factors.add_passkey(current_user._get_current_object(), take("register"),
                                               answer_of(form), form.name.data, WEB)
        except ServiceError as error:
            status = apply_error(form, error)
        else:
            flash(_("Your passkey was added. You can now sign in with it, without a password."), "success")
            if codes:
                return render_template("account/recovery_codes_new.html", codes=codes, first=True)
            return redirect(url_for("account.index"))
    return render_template("account/passkey_new.html", form=form), status


@bp.route("/account/passkeys/<int:passkey_id>", methods=["GET", "POST"])
@login_required
def manage(passkey_id):
    user = current_user._get_current_object()
    try:
        row = passkeys.one(user, passkey_id)
    except ServiceError as error:
        apply_error(None, error)
        return redirect(url_for("account.index"))
    form = PasskeyNameForm(name=row.name)
    status = 200
    if form.validate_on_submit():
        try:
            factors.rename_passkey(user, passkey_id, form.name.data)
        except ServiceError as error:
            status = apply_error(form, error)
        else:
            flash(_("The passkey was renamed."), "success")
            return redirect(url_for("account.index"))
    return render_template("account/passkey.html", form=form, remove=EmptyForm(), passkey=passkeys.describe(row)), status


@bp.post("/account/passkeys/<int:passkey_id>/remove")
@login_required  # the password (or a passkey) within REAUTH_SECONDS: factors.remove_passkey asks
@login_limit
def remove(passkey_id):
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("passkeys.manage", passkey_id=passkey_id))
    try:
        factors.remove_passkey(current_user._get_current_object(), passkey_id,
                               password_at=float(session.get("password_at") or 0))
    except ReauthenticationRequired:
        return redirect(url_for("auth.reauthenticate", next=url_for("passkeys.manage", passkey_id=passkey_id)))
    except ServiceError as error:
        apply_error(None, error)
    else:
        flash(_("The passkey was removed. It can no longer sign in to your account."), "success")
    return redirect(url_for("account.index"))


# --- signing in with one ----------------------------------------------------------------------
@bp.post("/login/passkey/options")
def sign_in_options():
    return options_answer("sign_in", signin.passkey_options)


@bp.post("/login/passkey")
@login_limit
def sign_in():
    form = PasskeySignInForm()
    if form.validate_on_submit():
        try:
            result = signin.passkey_login(take("sign_in"), answer_of(form), request.cookies.get(DEVICE_COOKIE))
        except ServiceError as error:
            apply_error(None, error)
        else:
            return _finish(result, form.remember.data, form.next.data)
    return redirect(url_for("auth.login", next=form.next.data or None))


@bp.post("/login/verify/passkey-options")
def second_step_options():
    pending = session.get("mfa") or {}
    return options_answer("second_step", lambda: signin.second_step_passkey_options(pending.get("challenge")))


@bp.post("/account/confirm-password/passkey-options")
@login_required
def confirm_options():
    return options_answer("confirm", lambda: signin.confirm_passkey_options(current_user._get_current_object()))


@bp.post("/account/confirm-password/passkey")
@login_required
@login_limit
def confirm():
    form = PasskeySignInForm()
    if form.validate_on_submit():
        try:
            signin.confirm_with_passkey(current_user._get_current_object(), take("confirm"), answer_of(form))
        except ServiceError as error:
            apply_error(None, error)
        else:
            session["password_at"] = session["auth_at"] = time.time()
            session.regenerate()
            return redirect(safe_next(form.next.data))
    return redirect(url_for("auth.reauthenticate", next=form.next.data or None))


def second_step_answer(form):
    """The (challenge_id, credential) a passkey second-step form carries."""
    return take("second_step"), answer_of(form)

