"""Password reset pages: request a code, then set a new password with it."""

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _

from ..errors import ServiceError
from ..services import code_clock, recovery
from . import page_cache
from .auth_helpers import apply_error, start_browser_session
from .code_request import code_request_page
from .forms import ResetForm

bp = Blueprint("recovery", __name__, url_prefix="/reset")


@bp.route("", methods=["GET", "POST"])
@page_cache.anonymous_page()
def reset_request():
    return code_request_page(
        "auth/reset.html", "reset", recovery.request_reset,
        lambda answer: _("If %(email)s has an account, a reset code is on its way. It is valid for %(num)d "
                         "minutes.", email=answer["email"], num=answer["expires_in"] // 60),
        "recovery.reset_verify")


@bp.route("/verify", methods=["GET", "POST"])
def reset_verify():
    pending = session.get("reset")
    if not pending:
        return redirect(url_for("recovery.reset_request"))
    form = ResetForm()
    status = 200
    if form.validate_on_submit():
        try:
            user, signed_in = recovery.confirm_reset(pending["email"], form.code.data, form.new_password.data)
        except ServiceError as error:
            status = apply_error(form, error)
        else:
            session.pop("reset", None)
            if signed_in:
                start_browser_session(user, signed_in.method)
                flash(_("Your password was reset and you are signed in."), "success")
                return redirect(url_for("account.index"))
            flash(_("Your password was reset. Every other session was signed out. Please sign in."), "success")
            return redirect(url_for("auth.login"))
    elif form.errors:
        status = 400
    return render_template("auth/reset_verify.html", form=form, masked=pending["masked"],
                           facts=code_clock.clock("reset", pending["email"])), status
