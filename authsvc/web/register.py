"""Registration pages: form -> code page (with resend) -> signed in."""

from flask import Blueprint, current_app, flash, g, redirect, render_template, session, url_for
from flask_babel import gettext as _

from ..errors import ServiceError
from ..services import captcha, code_clock, registration
from . import page_cache
from .auth_helpers import apply_error, redirect_signed_in, start_browser_session
from .forms import CodeForm, EmptyForm, RegisterForm

bp = Blueprint("register", __name__, url_prefix="/register")


def _mode():
    return current_app.config["REGISTRATION_MODE"]


@bp.route("", methods=["GET", "POST"])
@page_cache.anonymous_page()
def start():
    if (signed_in := redirect_signed_in()) is not None:
        return signed_in
    form = RegisterForm()
    status = 200
    if _mode() == "closed":
        return render_template("auth/register_closed.html"), 403
    if form.validate_on_submit():
        captcha_id = session.pop("captcha_id", None)
        try:
            answer = registration.start_registration(
                form.email.data, form.username.data, form.password.data,
                invite_code=form.invite_code.data, captcha_id=captcha_id,
                captcha_answer=form.captcha.data, captcha_pow=form.captcha_pow.data)
        except ServiceError as error:
            status = apply_error(form, error, captcha_id)
        else:
            session["register"] = {"email": form.email.data, "id": answer["registration_id"]}
            session["register_masked"] = answer["email"]
            flash(_("We sent a 6-digit code to %(email)s.", email=answer["email"]), "success")
            return redirect(url_for("register.verify"))
    elif form.errors:
        status = 400
    return render_template("auth/register.html", form=form, invite=_mode() == "invite",
                           captcha=captcha.enabled()), status


@bp.route("/verify", methods=["GET", "POST"])
def verify():
    pending = session.get("register")
    if not pending:
        return redirect(url_for("register.start"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = registration.confirm_registration(pending["email"], form.code.data, pending["id"])
        except ServiceError as error:
            status = apply_error(form, error)
        else:
            start_browser_session(user, "password")
            flash(_("Welcome, %(name)s! Your account is ready.", name=user.username), "success")
            return redirect(url_for("account.index"))
    return render_template("auth/register_verify.html", form=form, resend=EmptyForm(),
                           masked=session.get("register_masked"),
                           facts=code_clock.registration_clock(pending["email"], pending["id"])), status


@bp.post("/resend")
def resend():
    pending = session.get("register")
    if not pending:
        return redirect(url_for("register.start"))
    try:
        registration.resend_code(pending["email"], pending["id"])
    except ServiceError as error:
        apply_error(None, error)
        g.page_address = url_for("register.verify")  # the page shown; this address is POST-only
        return render_template("auth/register_verify.html", form=CodeForm(), resend=EmptyForm(),
                               masked=session.get("register_masked"),
                               facts=code_clock.registration_clock(pending["email"], pending["id"])), error.status
    flash(_("A new code is on its way. The previous code no longer works."), "success")
    return redirect(url_for("register.verify"))
