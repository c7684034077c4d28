"""Admin pages for OpenID Connect clients: list, register (the secret shown once), delete."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import BooleanField, StringField, TextAreaField

from ..errors import ServiceError
from ..i18n import lazy_gettext as _l
from ..services.oidc import clients
from .admin import admin_required
from .auth_helpers import apply_error
from .forms import EmptyForm, FlaskForm

bp = Blueprint("admin_apps", __name__, url_prefix="/admin/apps")


class ClientForm(FlaskForm):
    name = StringField(_l("App name"), render_kw={"required": True, "maxlength": 80})
    redirect_uris = TextAreaField(_l("Redirect URIs (one per line, exact)"), render_kw={"required": True, "rows": 3})
    post_logout_redirect_uris = TextAreaField(_l("Sign-out redirect URIs (one per line, optional)"), render_kw={"rows": 2})
    public = BooleanField(_l("Public client (no secret: single-page or mobile app, PKCE required)"))
    trusted = BooleanField(_l("Trusted first-party app (no consent page)"))
    email = BooleanField(_l("May read the email address"), default=True)
    profile = BooleanField(_l("May read the username"), default=True)


def _lines(text):
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


@bp.route("", methods=["GET", "POST"])
@admin_required
def index():
    form = ClientForm()
    status = 200
    if form.validate_on_submit():
        scopes = ["openid"] + [s for s in ("profile", "email") if getattr(form, s).data]
        try:
            row, secret = clients.create_client(
                form.name.data, _lines(form.redirect_uris.data), public=form.public.data, trusted=form.trusted.data,
                scopes=scopes, post_logout_redirect_uris=_lines(form.post_logout_redirect_uris.data),
                actor=current_user._get_current_object())
        except ServiceError as error:
            status = apply_error(form, error)
        else:
            response = render_template("admin/app_created.html", client=clients.describe(row), secret=secret)
            return response, 201, {"Cache-Control": "no-store"}
    return render_template("admin/apps.html", form=form, delete=EmptyForm(),
                           items=[clients.describe(r) for r in clients.list_clients()]), status


@bp.post("/<client_id>/delete")
@admin_required
def delete(client_id):
    try:
        clients.delete_client(client_id, actor=current_user._get_current_object())
    except ServiceError as error:
        apply_error(None, error)
    else:
        flash(_("The app was deleted; its users' access ended."), "success")
    return redirect(url_for("admin_apps.index"))
