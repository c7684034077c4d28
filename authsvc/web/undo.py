"""The old address's "undo this email change" link: a page with a button, then the reset page."""

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _

from ..errors import ServiceError
from ..services import email_undo
from .auth_helpers import end_browser_session
from .forms import EmptyForm

bp = Blueprint("undo", __name__)


@bp.route("/email/undo/<token>", methods=["GET", "POST"])
def email_change(token):
    form = EmptyForm()
    try:
        if not form.validate_on_submit():  # GET (or a POST without a valid CSRF token: 400 first)
            return render_template("account/email_undo.html", form=form, change=email_undo.describe(token))
        done = email_undo.undo(token)
    except ServiceError as error:
        return render_template("account/email_undo.html", error=error.message), error.status
    end_browser_session()  # whoever was signed in here, the account's sessions just ended
    session["reset"] = {"email": done["email"], "masked": done["masked"]}
    if done["code_sent"]:
        flash(_("%(email)s is the account's address again and every session was signed out. We sent a "
                "code there: choose a new password now.", email=done["email"]), "success")
    else:
        flash(_("%(email)s is the account's address again and every session was signed out. Too many "
                "codes were sent to it recently: request a reset code again in a few minutes.",
                email=done["email"]), "error")
        return redirect(url_for("recovery.reset_request"))
    return redirect(url_for("recovery.reset_verify"))
