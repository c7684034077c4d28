"""Sign-in pages: password (+ second step), emailed code, sign-out, password confirmation."""

import time

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import CaptchaRequired, ServiceError
from ..ratelimits import login_attempts as login_limit
from ..services import code_clock, factors, forward_auth, signin
from . import page_cache
from .auth_helpers import (apply_error, end_browser_session, redirect_signed_in, safe_next,
                           start_browser_session)
from .code_request import code_request_page
from .forms import (AppCodeForm, CodeForm, EmptyForm, LoginForm, PasskeyAnswerForm, PasskeySignInForm, ReauthForm,
                    RecoveryCodeForm)

bp = Blueprint("auth", __name__)
DEVICE_COOKIE = "authsvc_device"


def _finish(result, remember=False, target=None):
    """Start the browser session for a completed sign-in and go where the user was headed.

    Every way in (password, code, second step, app, and passkeys when they come) ends here
    with the `next` it was given: a local path, or a forward-auth app (safe_next)."""
    start_browser_session(result.user, result.method, remember, result.steps, factor=result.factor)
    response = redirect(safe_next(target))
    if result.user.is_admin:  # ADMIN_REQUIRE_MFA: an admin without a factor goes to set one up first
        try:
            factors.require_for_admin(result.user)
        except ServiceError as error:
            apply_error(None, error)
            response = redirect(url_for("account.index", _anchor="factors"))
    if result.device_token:
        response.set_cookie(DEVICE_COOKIE, result.device_token, httponly=True, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"],
                            max_age=current_app.config["DEVICE_COOKIE_DAYS"] * 86400)
    return response


@bp.get("/login")
@page_cache.anonymous_page(vary=lambda: signin.captcha_needed())
def login():
    if (signed_in := redirect_signed_in()) is not None:
        return signed_in
    return _login_page(LoginForm(next=request.args.get("next")))


@bp.post("/login")
@login_limit  # on the POST alone: showing the page costs no attempt and no limiter check
def login_submit():
    form = LoginForm()
    status, locked = 200, False
    if form.validate_on_submit():
        try:
            result = signin.password_login(
                form.login.data, form.password.data, session.pop("captcha_id", None),
                form.captcha.data, request.cookies.get(DEVICE_COOKIE), captcha_pow=form.captcha_pow.data)
        except CaptchaRequired as error:
            session["login_captcha"] = True
            status = apply_error(form, error)
        except ServiceError as error:
            status = apply_error(form, error)
            locked = error.code == "account_locked"
        else:
            return _finish_or_next_step(result, form.remember.data, form.next.data)
    return _login_page(form, status, locked)


def _finish_or_next_step(result, remember, target):
    if isinstance(result, signin.SecondFactorChallenge):
        session["mfa"] = {"challenge": result.challenge, "email": result.email, "step": result.step,
                          "alternatives": list(result.alternatives), "remember": remember, "next": target}
        return redirect(url_for("auth.second_factor"))
    return _finish(result, remember, target)


def _login_page(form, status=200, locked=False):
    need_captcha = session.get("login_captcha") or signin.captcha_needed()
    return render_template("auth/login.html", form=form, need_captcha=need_captcha, locked=locked,
                           return_host=forward_auth.return_host(form.next.data),
                           passkey_form=PasskeySignInForm(next=form.next.data)), status


@bp.route("/login/verify", methods=["GET", "POST"])
@login_limit
def second_factor():
    pending = session.get("mfa")
    if not pending:
        return redirect(url_for("auth.login"))
    use = request.args.get("use")
    if pending.get("step") == "passkey" and use not in ("app", "recovery"):
        return _passkey_step(pending)
    if pending.get("step") in ("totp", "passkey"):
        return _app_step(pending)
    password_step = pending.get("step") == "password"
    form = ReauthForm() if password_step else CodeForm()
    status = 200
    if form.validate_on_submit():
        answer = {"password": form.password.data} if password_step else {"code": form.code.data}
        result, status = _complete_step(form, pending, answer)
        if result is not None:
            return _finish(result, pending.get("remember"), pending.get("next"))
    if password_step:
        return render_template("auth/second_factor_password.html", form=form, masked=pending["email"]), status
    return render_template("auth/second_factor.html", form=form, resend=EmptyForm(), masked=pending["email"],
                           facts=code_clock.second_step_clock(pending["challenge"])), status


def _complete_step(form, pending, answer):
    """Answer the pending second step: (the sign-in result, 200), or (None, the error's status)
    with the error shown on the form."""
    try:
        result = signin.complete_second_factor(pending["challenge"], **answer)
    except ServiceError as error:
        return None, apply_error(form, error)
    session.pop("mfa", None)
    return result, 200


def _passkey_step(pending):
    """A passkey (static/js/passkeys.js gets the options and posts the answer here)."""
    from .passkeys import answer_of, take

    form = PasskeyAnswerForm()
    status = 200
    if form.validate_on_submit():
        result, status = _complete_step(form, pending, {"passkey": (take("second_step"), answer_of(form))})
        if result is not None:
            return _finish(result, pending.get("remember"), pending.get("next"))
    alternatives = pending.get("alternatives", [])
    return render_template("auth/second_factor_passkey.html", form=form, can_app="totp" in alternatives,
                           can_recover="recovery_code" in alternatives), status


def _app_step(pending):
    """The authenticator app's code, or (?use=recovery) a recovery code in its place; beside a
    passkey step (?use=app) the app's code."""
    recovery = request.args.get("use") == "recovery" and "recovery_code" in pending.get("alternatives", [])
    if pending.get("step") == "passkey" and not recovery and "totp" not in pending.get("alternatives", []):
        return redirect(url_for("auth.second_factor"))
    form = RecoveryCodeForm() if recovery else AppCodeForm()
    status = 200
    if form.validate_on_submit():
        answer = {"recovery_code": form.recovery_code.data} if recovery else {"totp": form.code.data}
        result, status = _complete_step(form, pending, answer)
        if result is not None:
            response = _finish(result, pending.get("remember"), pending.get("next"))
            if result.recovery_codes_remaining is not None:  # after _finish: the new session keeps it
                flash(_("You signed in with a recovery code; it no longer works. Recovery codes left: "
                        "%(num)d. You can make a new set on your account page.",
                        num=result.recovery_codes_remaining), "info")
            return response
    return render_template("auth/second_factor_app.html", form=form, recovery=recovery,
                           can_recover="recovery_code" in pending.get("alternatives", []),
                           passkey_step=pending.get("step") == "passkey"), status


@bp.post("/login/verify/resend")
def second_factor_resend():
    pending = session.get("mfa")
    if not pending:
        return redirect(url_for("auth.login"))
    try:
        signin.resend_second_factor(pending["challenge"])
    except ServiceError as error:
        apply_error(None, error)
    else:
        flash(_("A new code is on its way. The previous code no longer works."), "success")
    return redirect(url_for("auth.second_factor"))


@bp.route("/login/code", methods=["GET", "POST"])
@page_cache.anonymous_page()
def code_request():
    if not current_app.config["LOGIN_BY_CODE"]:
        abort(404)
    return code_request_page(
        "auth/login_code.html", "code_login", signin.request_login_code,
        lambda answer: _("If %(email)s has an account, a sign-in code is on its way.", email=answer["email"]),
        "auth.code_verify", next=request.args.get("next"))


@bp.route("/login/code/verify", methods=["GET", "POST"])
@login_limit
def code_verify():
    pending = session.get("code_login")
    if not pending:
        return redirect(url_for("auth.code_request"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            result = signin.code_login(pending["email"], form.code.data, request.cookies.get(DEVICE_COOKIE))
        except ServiceError as error:
            status = apply_error(form, error)
        else:
            session.pop("code_login", None)
            return _finish_or_next_step(result, False, pending.get("next"))
    return render_template("auth/login_code_verify.html", form=form, masked=pending["masked"],
                           facts=code_clock.clock("login", pending["email"])), status


@bp.get("/logout")
def logout_page():
    """A bookmarked or typed /logout: a button that signs out (a POST with the CSRF token),
    never a sign-out by a mere GET (any page could embed it)."""
    return render_template("auth/logout.html", form=EmptyForm())


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        signin.sign_out(current_user._get_current_object(), "web")
    end_browser_session()
    flash(_("You have signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/confirm-password", methods=["GET", "POST"])
@login_required
@login_limit
def reauthenticate():
    form = ReauthForm(next=request.args.get("next"))
    status, locked = 200, False
    if form.validate_on_submit():
        try:
            signin.reauthenticate(current_user, form.password.data)
        except ServiceError as error:
            status = apply_error(form, error)
            locked = error.code == "account_locked"  # still signed in: the page says what now
        else:
            session["password_at"] = session["strong_at"] = session["auth_at"] = time.time()
            session.regenerate()  # raised to a password session: a copy of the old id is not
            return redirect(safe_next(form.next.data))
    return render_template("auth/reauthenticate.html", form=form, locked=locked,
                           passkey_form=PasskeySignInForm(next=form.next.data),
                           has_passkey=bool(signin.has_passkeys(current_user))), status
