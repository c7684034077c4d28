"""Admin pages: blocked client networks (services/ipblocks.py)."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import ServiceError
from ..services import ipblocks
from ..timefmt import display_time
from .admin import admin_required, bp
from .auth_helpers import apply_error
from .forms import EmptyForm, IpBlockForm


@bp.route("/ip-blocks", methods=["GET", "POST"])
@admin_required
def ip_blocks():
    form, status, ask_confirm = IpBlockForm(), 200, False
    if form.validate_on_submit():
        try:
            record = ipblocks.add(form.network.data, form.reason.data, form.hours.data,
                                  actor=current_user._get_current_object(), confirm=form.confirm.data)
        except ServiceError as error:
            status = apply_error(form, error)
            ask_confirm = "confirm" in error.extra.get("fields", {})
        else:
            flash(_("%(network)s is blocked until %(until)s.", network=record["network"],
                    until=display_time(record["expires_at"])), "success")
            return redirect(url_for("admin.ip_blocks"))
    elif form.errors:
        status = 400
    items = [ipblocks.describe(r) for r in ipblocks.listing()]
    return render_template("admin/ip_blocks.html", form=form, items=items, lift=EmptyForm(),
                           ask_confirm=ask_confirm), status


@bp.post("/ip-blocks/<block_id>/lift")
@admin_required
def ip_block_lift(block_id):
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            record = ipblocks.lift(block_id, actor=current_user._get_current_object())
        except ServiceError as error:
            apply_error(None, error)
        else:
            flash(_("The block on %(network)s was lifted.", network=record["network"]), "success")
    return redirect(url_for("admin.ip_blocks"))
