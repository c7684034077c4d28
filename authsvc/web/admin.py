"""Admin pages: dashboard, users, invite codes, audit log."""

from functools import wraps

from flask import (Blueprint, Response, abort, flash, redirect, render_template, request, session,
                   stream_with_context, url_for)
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import ServiceError
from ..services import audit_search, factors, invites, mail, recovery, users
from . import audit_view
from .auth_helpers import apply_error, password_session_required
from .forms import EmptyForm, InviteForm, OwnFactorForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    """Signed in with a password, and an admin (403 otherwise); with ADMIN_REQUIRE_MFA, one
    who has a passkey or app (else he is sent to set one up)."""
    @wraps(view)
    @password_session_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        try:
            factors.require_for_admin(current_user)
        except ServiceError as error:
            apply_error(None, error)
            return redirect(url_for("account.index", _anchor="factors"))
        return view(*args, **kwargs)
    return wrapper


AUDIT_FILTERS = ("event", "email", "ip", "since", "until")


def _filters(names):
    """The known filter keys that have a value, for the pager and export links.

    Never the whole query string: url_for reads `_external`, `_anchor`, `_scheme` and
    `_method` from its keyword arguments, and a repeated one (`format`) is a TypeError.
    """
    return {name: request.args[name][:254] for name in names if request.args.get(name)}


def _page():
    try:
        return max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        return 1


@bp.get("")
@admin_required
def index():
    return render_template("admin/index.html", figures=users.dashboard(), mail=mail.overview())


@bp.get("/users")
@admin_required
def user_list():
    query = request.args.get("q", "")[:254]
    page = _page()
    items, total, exact = users.search(query, page)
    return render_template("admin/users.html", items=items, total=total, exact=exact, page=page, q=query,
                           per_page=users.PER_PAGE, filters={"q": query} if query else {},
                           locked=users.locked_ids(items))


@bp.get("/users/<int:user_id>")
@admin_required
def user_detail(user_id):
    user = users.get(user_id)
    return render_template("admin/user.html", user=user, info=users.summary(user), form=EmptyForm(),
                           reset_form=OwnFactorForm())


@bp.post("/users/<int:user_id>/reset-factors")
@admin_required
def user_reset_factors(user_id):
    user, form = users.get(user_id), OwnFactorForm()
    if form.validate_on_submit():
        try:
            factors.reset_by_admin(user, current_user._get_current_object(),
                                   factor_at=session.get("factor_at"), totp_code=form.totp.data or None)
        except ServiceError as error:
            apply_error(None, error)
        else:
            flash(_("Every second factor of the account was removed and it was signed out everywhere. "
                    "The owner was mailed."), "success")
    return redirect(url_for("admin.user_detail", user_id=user_id))


USER_ACTIONS = {
    "deactivate": (users.deactivate, lambda: _("The account was deactivated and signed out everywhere.")),
    "activate": (users.activate, lambda: _("The account was activated.")),
    "unlock": (users.unlock, lambda: _("The account was unlocked.")),
    "send-reset": (lambda user, actor: recovery.send_reset_for(user, actor),
                   lambda: _("A password reset code was sent to the user.")),
    "clear-codes": (users.clear_pending_codes,
                    lambda: _("The account's pending codes were cleared: a code already mailed no longer works.")),
}


@bp.post("/users/<int:user_id>/<action>")
@admin_required
def user_action(user_id, action):
    if action not in USER_ACTIONS:
        abort(404)
    user = users.get(user_id)
    perform, message = USER_ACTIONS[action]
    try:
        perform(user, current_user._get_current_object())
    except ServiceError as error:
        apply_error(None, error)
    else:
        flash(message(), "success")
    return redirect(url_for("admin.user_detail", user_id=user_id))


@bp.route("/invites", methods=["GET", "POST"])
@admin_required
def invite_list():
    form = InviteForm()
    status = 200
    if form.validate_on_submit():
        try:
            created = invites.create_invites(  # an empty field means 1; a 0 is refused, never 1
                count=1 if form.count.data is None else form.count.data,
                uses=1 if form.uses.data is None else form.uses.data,
                expires=form.expires.data, created_by=current_user._get_current_object(),
                code=form.code.data or None)
        except ServiceError as error:
            status = apply_error(form, error)
        else:
            flash(_("%(num)d invite codes were created.", num=len(created)), "success")
            return redirect(url_for("admin.invite_list"))
    elif form.errors:
        status = 400
    found = invites.recent(limit=500)
    return render_template("admin/invites.html", form=form, items=[invites.describe(i) for i in found],
                           disable=EmptyForm()), status


@bp.post("/invites/<code>/disable")
@admin_required
def invite_disable(code):
    if invites.disable_invite(code, actor=current_user._get_current_object()) is None:
        abort(404)
    flash(_("The invite code was disabled."), "success")
    return redirect(url_for("admin.invite_list"))


@bp.get("/audit")
@admin_required
def audit_log():
    typed, errors = _filters(AUDIT_FILTERS), {}
    try:
        statement, valid = audit_search.from_args(request.args), True
    except ServiceError as error:  # explained at the filters, above the unfiltered list the links then follow
        errors = error.extra.get("fields") or {}
        flash(error.message if errors else str(error), "error")
        statement, valid = audit_search.filtered(), False
    filters = typed if valid else {}
    if request.args.get("format") == "csv" and valid:  # a bad filter never exports everything
        return Response(stream_with_context(audit_search.csv_rows(statement)), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=audit.csv"})
    page = _page()
    items, total, exact = audit_search.page(statement, page)
    return render_template("admin/audit.html", items=items, total=total, exact=exact, page=page, per_page=50,
                           typed=typed, filters=filters, errors=errors, actors=audit_search.actor_names(items),
                           event_label=audit_view.event_label, detail_fields=audit_view.detail_fields,
                           events=audit_view.EVENTS)


from . import admin_blocks  # noqa: E402,F401  (its routes join this blueprint)
