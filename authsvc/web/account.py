"""The signed-in user's pages: profile, sessions, password, email, notices."""

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required, login_user

from ..errors import ServiceError
from ..extensions import csrf
from ..services import code_clock, factors, mail, recovery, tokens
from ..services.oidc import grants as oidc_grants
from .auth_helpers import (apply_error, current_session_hash, end_browser_session,
                           password_session_required)
from .forms import ChangeEmailForm, ChangePasswordForm, CodeForm, EmptyForm

bp = Blueprint("account", __name__)


@bp.get("/account")
@login_required
def index():
    sessions = tokens.list_sessions(current_user, current=current_session_hash())
    return render_template("account/index.html", user=current_user, sessions=sessions,
                           form=EmptyForm(), pending_email=recovery.pending_email(current_user),
                           factors=factors.overview(current_user), apps=oidc_grants.apps_of(current_user))


@bp.post("/account/sessions/<public_id>/end")
@login_required
def end_session(public_id):
    try:
        kind, was_current = tokens.end_one(current_user, public_id, current=current_session_hash())
    except ServiceError as error:
        apply_error(None, error)
        return redirect(url_for("account.index"))
    if was_current:
        end_browser_session()
        return redirect(url_for("auth.login"))
    flash(_("The session was ended."), "success")
    return redirect(url_for("account.index"))


@bp.post("/account/sessions/end-others")
@login_required
def end_other_sessions():
    ended = tokens.end_others(current_user._get_current_object(), current_session_hash())
    flash(ngettext("%(num)d other session was signed out.", "%(num)d other sessions were signed out.",
                   ended), "success")
    return redirect(url_for("account.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@password_session_required
def change_password():
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            recovery.change_password(user, form.current_password.data, form.new_password.data,
                                     keep=current_session_hash())
        except ServiceError as error:
            status = apply_error(form, error)
        else:
            login_user(user)  # this session carries on under the new epoch...
            session.regenerate()  # ...and a new id: a copy of the old cookie is signed out too
            flash(_("Your password was changed. Every other session was signed out."), "success")
            return redirect(url_for("account.index"))
    elif form.errors:
        status = 400
    return render_template("account/password.html", form=form), status


@bp.route("/account/email", methods=["GET", "POST"])
@password_session_required
def change_email():
    form = ChangeEmailForm()
    status = 200
    if form.validate_on_submit():
        try:
            answer = recovery.request_email_change(current_user, form.password.data, form.new_email.data)
        except ServiceError as error:
            status = apply_error(form, error)
        else:
            flash(_("We sent a 6-digit code to %(email)s.", email=answer["email"]), "success")
            return redirect(url_for("account.change_email_verify"))
    return render_template("account/email.html", form=form), status


@bp.route("/account/email/verify", methods=["GET", "POST"])
@password_session_required
def change_email_verify():
    new_email = recovery.pending_email(current_user)
    if new_email is None:
        return redirect(url_for("account.change_email"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            recovery.confirm_email_change(current_user, form.code.data)
        except ServiceError as error:
            status = apply_error(form, error)
        else:
            flash(_("Your email address is now %(email)s.", email=current_user.email), "success")
            return redirect(url_for("account.index"))
    return render_template("account/email_verify.html", form=form, new_email=new_email,
                           facts=code_clock.clock("change_email", new_email)), status


@bp.post("/account/notifications")
@login_required
def notifications():
    mail.set_new_device(current_user._get_current_object(), request.form.get("new_device") == "on")
    flash(_("Your notification settings were saved."), "success")
    return redirect(url_for("account.index"))


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the credential; mail clients post here (RFC 8058)
def unsubscribe(token):
    user = mail.unsubscribe_account(token)
    if user is None:
        return render_template("account/unsubscribed.html", ok=False), 404
    if request.method == "POST":
        mail.set_new_device(user, False, via="unsubscribe_link")
        return render_template("account/unsubscribed.html", ok=True, done=True)
    return render_template("account/unsubscribed.html", ok=True, done=False, form=EmptyForm())
