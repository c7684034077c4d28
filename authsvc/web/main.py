"""Home, the captcha picture and the language switch."""

from flask import (Blueprint, abort, current_app, has_request_context, jsonify, make_response, redirect,
                   request, session, url_for)
from flask_login import current_user

from ..ratelimits import captcha_images
from ..services import captcha
from . import carry
from .auth_helpers import safe_next

bp = Blueprint("main", __name__)
LANG_COOKIE_DAYS = 365


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    return redirect(url_for("auth.login"))


@bp.get("/captcha.png")
@captcha_images
def captcha_image():
    """A new captcha picture for this browser session; the previous one stops working."""
    if not captcha.wants_image():
        abort(404)
    captcha_id, png = captcha.new_captcha()
    session["captcha_id"] = captcha_id
    response = make_response(png)
    response.headers["Content-Type"] = "image/png"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/captcha/challenge")
@captcha_images
def captcha_challenge():
    """A proof-of-work challenge for the page's <altcha-widget> (CAPTCHA_MODE pow or both).
    It names its own captcha id; the solution the widget posts brings it back."""
    if not captcha.wants_pow():
        abort(404)
    response = jsonify(captcha.new_challenge())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def language_switch():
    """Where the switch returns to, and the fields it carries (for pages without scripts)."""
    if not has_request_context():  # mail rendered by the worker
        return {}
    return {"lang_return": carry.page_address(), "lang_carry": carry.typed_fields()}


@bp.post("/lang/<code>")
def switch_language(code):
    """Remember the chosen language in a cookie (a POST, so CSRFProtect checks it) and go
    back to the page's own address with what was typed there (web/carry.py)."""
    target = safe_next(request.form.get("next"), "main.index")
    carry.remember(target, request.form)
    response = redirect(target)
    if code in ("zh", "en"):
        response.set_cookie("lang", code, max_age=LANG_COOKIE_DAYS * 86400, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    return response
