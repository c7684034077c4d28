"""The OpenID Connect provider's endpoints (not under /api/v1: their shapes are the specs').

Views translate HTTP only; services/oidc/ owns every rule."""

import time
from urllib.parse import urlencode

from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import ServiceError
from ..extensions import csrf
from ..hooks import csp
from ..i18n import lazy_gettext as _l
from ..services.oidc import grants, keys, server as oidc
from .auth_helpers import apply_error, end_browser_session
from .forms import EmptyForm

bp = Blueprint("oauth", __name__)
SCOPE_TEXT = {"openid": _l("Know who you are (an identifier of your account)"),
              "profile": _l("See your username"), "email": _l("See your email address and whether it is confirmed")}


CROSS_ORIGIN = ("oauth.token", "oauth.userinfo", "oauth.revoke", "oauth.jwks", "oauth.discovery")


@bp.after_request
def allow_cross_origin(response):
    """A single-page app calls these from its own origin. They never read a cookie (client
    credentials, PKCE or a bearer token), so any origin may, without credentials."""
    if request.endpoint in CROSS_ORIGIN:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


@bp.after_app_request
def widen_form_action(response):
    """Chromium applies CSP form-action to every redirect after a form is sent: a form whose
    answer ends at an app (the consent page, the sign-in page on the way to /oauth/authorize,
    the second step, the logout confirmation) may go to that app's registered redirect origin.
    Runs after hooks.py set the default policy, and only narrows it to one more origin."""
    if response.mimetype != "text/html":
        return response
    origins = g.get("oauth_form_targets")
    if origins is None:
        target = request.args.get("next") or (session.get("mfa") or {}).get("next") or ""
        origins = oidc.redirect_origins(target) if target.startswith("/oauth/authorize?") else ()
    if origins:
        response.headers["Content-Security-Policy"] = csp(extra_form_action=origins)
    return response


def _server():
    server = oidc.current()
    if server is None:  # production without OIDC_SIGNING_KEYS: no provider
        abort(404)
    return server


@bp.get("/.well-known/openid-configuration")
def discovery():
    _server()
    response = jsonify(oidc.discovery())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/oauth/jwks")
def jwks():
    _server()
    response = jsonify(keys.current().jwks())
    response.headers["Cache-Control"] = "public, max-age=300"  # a rotation shows within minutes
    return response


def _authorize_error(server, error):
    """A client's error goes back to its (verified) redirect URI; otherwise this page says what
    was wrong and nothing is sent anywhere (an unregistered redirect_uri gets nothing)."""
    if error.redirect_uri:
        return server.handle_error_response(None, error)
    return render_template("oauth/error.html", error=error.error, description=error.description), 400


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize():
    server = _server()
    user = current_user._get_current_object() if current_user.is_authenticated else None
    try:
        grant = server.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return _authorize_error(server, error)
    if user is None:
        return redirect(url_for("auth.login", next=request.full_path))
    grant.auth_time = _auth_time()
    if request.method == "GET":
        try:
            again = oidc.must_sign_in_again(grant.request.payload.data, grant.auth_time)
        except OAuth2Error as error:
            error.redirect_uri, error.state = grant.request.payload.redirect_uri, grant.request.payload.state
            return _authorize_error(server, error)
        if again and "none" in (request.args.get("prompt") or "").split():
            return server.handle_error_response(None, LoginRequiredError(
                redirect_uri=grant.request.payload.redirect_uri, state=grant.request.payload.state))
        if again:  # the app wants a fresh sign-in: confirm it's still you, then back here
            return redirect(url_for("auth.reauthenticate", next=oidc.without_login_prompt(request.full_path)))
    client, scope = grant.request.client.row, grant.request.scope
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if request.form.get("decision") != "allow":
            grants.deny_consent(user, client)
            return server.create_authorization_response(grant_user=None, grant=grant)
        grants.grant_consent(user, client, scope)
        return server.create_authorization_response(grant_user=user, grant=grant)
    asked = (request.args.get("prompt") or "").split()
    if grants.consent_covers(user, client, scope) and "consent" not in asked:
        return server.create_authorization_response(grant_user=user, grant=grant)
    if "none" in asked:  # the app asked for no page at all: it must come back interactively
        return server.handle_error_response(None, ConsentRequiredError(
            redirect_uri=grant.request.payload.redirect_uri, state=grant.request.payload.state))
    g.oauth_form_targets = oidc.origins_of([grant.request.payload.redirect_uri])
    return render_template("oauth/consent.html", client=client, form=form,
                           scopes=[SCOPE_TEXT[s] for s in scope.split() if s in SCOPE_TEXT])


def _auth_time():
    """When this browser session last proved who it is: its sign-in or a later confirmation."""
    return session.get("auth_at") or getattr(session, "meta", {}).get("created") or time.time()


@bp.post("/oauth/token")
@csrf.exempt  # client credentials or PKCE, never a cookie
def token():
    return _server().create_token_response()


@bp.route("/oauth/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo():
    _server()
    scheme, _sep, value = (request.headers.get("Authorization") or "").partition(" ")
    claims = oidc.userinfo(value.strip()) if scheme.lower() == "bearer" else None
    if claims is None:
        response = jsonify(error="invalid_token")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    response = jsonify(claims)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/oauth/revoke")
@csrf.exempt
def revoke():
    server = _server()
    oauth_request = server.create_oauth2_request(None)
    try:
        client = server.authenticate_client(oauth_request, oidc.AUTH_METHODS, endpoint="revocation")
    except OAuth2Error as error:
        return server.handle_error_response(oauth_request, error)
    grants.revoke_token(oauth_request.form.get("token"), client)
    return jsonify({})


def _after_logout(uri, state):
    if uri:
        return redirect(uri + ("&" if "?" in uri else "?") + urlencode({"state": state}) if state else uri)
    return render_template("oauth/logged_out.html")


@bp.route("/oauth/logout", methods=["GET", "POST"])
def logout():
    """RP-initiated logout. With an ID token of the signed-in user, at once; otherwise the user
    confirms (a link alone must not sign anyone out)."""
    _server()
    values = request.values
    client, uri, sub = oidc.logout_target(values.get("id_token_hint"), values.get("post_logout_redirect_uri"),
                                          values.get("client_id"))
    state = values.get("state")
    if not current_user.is_authenticated:
        return _after_logout(uri, state)
    form = EmptyForm()
    matches = sub is not None and sub == grants.subject(current_user)
    if matches or (request.method == "POST" and form.validate_on_submit()):
        grants.record_logout(current_user._get_current_object(), client)
        end_browser_session()
        return _after_logout(uri, state)
    g.oauth_form_targets = oidc.origins_of([uri] if uri else [])
    return render_template("oauth/logout.html", form=form, client=client)


@bp.post("/account/apps/<client_id>/revoke")
@login_required
def revoke_app(client_id):
    try:
        name = grants.revoke_app(current_user._get_current_object(), client_id)
    except ServiceError as error:
        apply_error(None, error)
    else:
        flash(_("%(app)s can no longer use your account.", app=name), "success")
    return redirect(url_for("account.index") + "#apps")
