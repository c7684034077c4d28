"""Glue between the services and browser sessions: user loading, sign-in, errors on forms."""

import hmac
import time
from urllib.parse import urlsplit

from functools import wraps

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..models import User
from ..services import forward_auth
from . import summary


def load_user(user_id):
    """Flask-Login loader: the session's user, only while its epoch is current."""
    uid, _dot, epoch = (user_id or "").partition(".")
    if not uid.isdigit():
        return None
    user = db.session.get(User, int(uid))
    if user is None or not user.active or not hmac.compare_digest(user.auth_epoch, epoch):
        return None
    return user


def start_browser_session(user, method, remember=False, steps=1, factor=None):
    """Sign the user in on a fresh session id (no fixation), keeping the language choice.

    The session also carries what forward-auth answers from (services/forward_auth.py): the
    account's claims and when its last strong step (password or second step) happened.
    `factor`: the second factor the sign-in passed, if any (its time is what "a fresh second
    factor" is measured from, e.g. for an admin's "reset second factors")."""
    keep = {k: session[k] for k in ("lang",) if k in session}
    session.clear()
    session.regenerate()
    session.update(keep)
    session.meta["remember"] = bool(remember)
    session.meta["method"] = method
    login_user(user, remember=False)
    now = time.time()
    session["auth_method"] = method
    session["auth_at"] = now  # OpenID Connect's auth_time, max_age and prompt=login
    session["password_at"] = now if method in ("password", "passkey") else 0
    session["factor_at"] = now if factor else 0
    session["strong_at"] = now if forward_auth.is_strong(method, steps) else 0
    session["fwd"] = forward_auth.claims(user)


def end_browser_session():
    """Sign out and delete the server-side session.

    The id is renewed as well: a request of the old session still running must find its
    record gone (it would otherwise save its signed-in copy over the signed-out one).
    """
    logout_user()
    session.clear()
    for decided_at_sign_in in ("remember", "method"):
        session.meta.pop(decided_at_sign_in, None)
    session.regenerate()


def current_session_hash():
    return getattr(session, "hash", None)


def safe_next(target, default="account.index"):
    """A local path to go to after sign-in, or an app host forward-auth protects
    (FORWARD_AUTH_DOMAINS); anything else goes to the default page."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target and "\n" not in target \
                and "\r" not in target:
            return target
    if target and forward_auth.return_allowed(target):
        return target
    return url_for(default)


def apply_error(form, error, captcha_id=None):
    """Show a service error on the form's fields, or above the form; returns its status.

    `captcha_id`: the captcha the request used; a limit that left it solved keeps it in the
    session, and the page then asks for no new picture (g.captcha_kept).
    """
    if "retry_after" in error.extra:
        g.retry_after = error.extra["retry_after"]  # hooks.py turns it into a Retry-After header
    if captcha_id and getattr(error, "captcha_kept", False):
        session["captcha_id"] = captcha_id
        g.captcha_kept = True
    fields = error.extra.get("fields") or {}
    unplaced = [] if fields else [error.message]
    for name, messages in fields.items():
        field = getattr(form, name, None) if form is not None else None
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            unplaced += messages
    for message in unplaced:
        flash(message, "error")
    if unplaced:
        summary.note(form, error)  # the page's error summary links the field it concerns
    return error.status


def redirect_signed_in():
    """Back to `next` at once when already signed in; to the password confirmation first when
    `next` is an app host asking for a fresher step than this session has (else a loop)."""
    if current_user.is_authenticated:
        target = safe_next(request.args.get("next"))
        if forward_auth.confirmation_due(target, session):
            return redirect(url_for("auth.reauthenticate", next=target))
        return redirect(target)
    return None


def password_recently_confirmed():
    """False for a session signed in by emailed code alone until the password is entered."""
    if session.get("auth_method") in ("password", "passkey"):  # a passkey sign-in is as strong
        return True
    return time.time() - float(session.get("password_at") or 0) < current_app.config["REAUTH_SECONDS"]


def password_session_required(view):
    """Sensitive pages: signed in, and with a password (not an emailed code alone)."""
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not password_recently_confirmed():
            return redirect(url_for("auth.reauthenticate", next=request.full_path))
        return view(*args, **kwargs)
    return wrapper
