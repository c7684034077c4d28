"""Pages for the account's second factors: set up the authenticator app (QR code and the
secret as text, confirmed with a code), remove it, and recovery codes (shown once)."""

import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import ReauthenticationRequired, ServiceError
from ..ratelimits import login_attempts as login_limit
from ..services import factors
from .auth_helpers import apply_error, password_session_required
from .forms import AppCodeForm, EmptyForm

bp = Blueprint("factors", __name__)


def _confirm_password_first():
    return redirect(url_for("auth.reauthenticate", next=request.full_path.rstrip("?")))


def _codes_page(codes, first):
    return render_template("account/recovery_codes_new.html", codes=codes, first=first)


@bp.route("/account/app", methods=["GET", "POST"])
@password_session_required
def app_setup():
    user = current_user._get_current_object()
    form = AppCodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = factors.confirm_app(user, form.code.data)
        except ServiceError as error:
            status = apply_error(form, error)
        else:
            flash(_("Your authenticator app is set up. Signing in will ask for its code."), "success")
            return _codes_page(codes, first=True) if codes else redirect(url_for("account.index"))
    try:
        enrolment = factors.start_app(user)
    except ServiceError as error:
        apply_error(None, error)
        return redirect(url_for("account.index"))
    return render_template("account/app_setup.html", form=form, enrolment=enrolment), status


@bp.route("/account/app/remove", methods=["GET", "POST"])
@password_session_required
@login_limit
def app_remove():
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            factors.remove_app(current_user._get_current_object(), password_at=_password_at())
        except ReauthenticationRequired:
            return _confirm_password_first()
        except ServiceError as error:
            apply_error(None, error)
        else:
            flash(_("The authenticator app was removed. Signing in no longer asks for its code."), "success")
        return redirect(url_for("account.index"))
    if time.time() - _password_at() > _reauth_seconds():
        return _confirm_password_first()
    return render_template("account/app_remove.html", form=form)


@bp.route("/account/recovery-codes", methods=["GET", "POST"])
@password_session_required
def recovery_codes():
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            codes = factors.regenerate_codes(current_user._get_current_object(), password_at=_password_at())
        except ReauthenticationRequired:
            return _confirm_password_first()
        except ServiceError as error:
            apply_error(None, error)
            return redirect(url_for("account.index"))
        return _codes_page(codes, first=False)
    if time.time() - _password_at() > _reauth_seconds():
        return _confirm_password_first()
    overview = factors.overview(current_user)
    return render_template("account/recovery_codes.html", form=form, overview=overview)


def _password_at():
    return float(session.get("password_at") or 0)


def _reauth_seconds():
    from flask import current_app

    return current_app.config["REAUTH_SECONDS"]
