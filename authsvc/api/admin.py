"""API: admin users, invite codes, audit log, mail delivery figures."""

from flask import Response, g, jsonify, request, stream_with_context

from ..errors import NotFound
from ..services import audit_search, invites, mail, recovery, users
from . import bp, schemas
from .bearer import admin_required
from .inputs import accepts, query_int


@bp.get("/admin/users")
@admin_required
def admin_users():
    page = query_int("page", 1)
    per_page = query_int("per_page", users.PER_PAGE, maximum=200)
    items, total = users.search(request.args.get("q", "")[:254], page, per_page)
    return jsonify({"items": [users.summary(u) for u in items], "total": total, "page": page,
                    "per_page": per_page})


@bp.get("/admin/users/<int:user_id>")
@admin_required
def admin_user(user_id):
    return jsonify(users.summary(users.get(user_id)))


ACTIONS = {"deactivate": users.deactivate, "activate": users.activate, "unlock": users.unlock}


@bp.post("/admin/users/<int:user_id>/<action>")
@admin_required
def admin_user_action(user_id, action):
    user = users.get(user_id)
    if action == "send-reset":
        recovery.send_reset_for(user, g.user)
    elif action in ACTIONS:
        ACTIONS[action](user, g.user)
    else:
        raise NotFound()
    return jsonify(users.summary(user))


@bp.get("/admin/invites")
@admin_required
def admin_invites():
    items = [invites.describe(i) for i in invites.recent(request.args.get("status"), limit=1000)]
    return jsonify({"items": items, "total": len(items)})


@bp.post("/admin/invites")
@admin_required
@accepts(schemas.InviteCreate)
def admin_create_invites(body):
    created = invites.create_invites(count=1 if body.count is None else body.count,
                                     uses=1 if body.uses is None else body.uses,
                                     expires=body.expires, created_by=g.user, code=body.code)
    return jsonify({"items": [invites.describe(i) for i in created]}), 201


@bp.delete("/admin/invites/<code>")
@admin_required
def admin_disable_invite(code):
    invite = invites.disable_invite(code, actor=g.user)
    if invite is None:
        raise NotFound()
    return jsonify(invites.describe(invite))


@bp.get("/admin/audit")
@admin_required
def admin_audit():
    statement = audit_search.from_args(request.args)
    if request.args.get("format") == "csv":
        return Response(stream_with_context(audit_search.csv_rows(statement)), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=audit.csv"})
    page = query_int("page", 1)
    per_page = query_int("per_page", 50, maximum=500)
    items, total = audit_search.page(statement, page, per_page)
    return jsonify({"items": [e.to_dict() for e in items], "total": total, "page": page,
                    "per_page": per_page})


@bp.get("/admin/mail-stats")
@admin_required
def admin_mail_stats():
    return jsonify(mail.overview())


@bp.get("/admin/dashboard")
@admin_required
def admin_dashboard():
    return jsonify(users.dashboard())
