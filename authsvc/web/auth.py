"""Sign-in and sign-out pages."""

from flask import Blueprint, redirect, render_template, url_for

from .auth_helpers import end_browser_session
from .forms import EmptyForm, LoginForm

bp = Blueprint("auth", __name__)


@bp.get("/login")
def login():
    return render_template("auth/login.html", form=LoginForm())


@bp.post("/logout")
def logout():
    end_browser_session()
    return redirect(url_for("auth.login"))
