"""API: admin users, invite codes, audit log, mail delivery figures."""

from flask import Response, g, jsonify, request, stream_with_context

from ..errors import NotFound
from ..services import audit_search, factors, invites, mail, recovery, users
from . import bp, replies_admin, replies_mail, schemas
from .declare import DAY, Answer, operation, page_params, param
from .bearer import admin_required
from .inputs import accepts, query_int


SUMMARY = {200: Answer(replies_admin.UserSummary, "The account as the admin sees it")}


@bp.get("/admin/users")
@operation("admin_users", "Search accounts, newest first", {
    200: Answer(replies_admin.UserPage, "One page", {"user": {
        "operationId": "admin_user", "parameters": {"path.user_id": "$response.body#/items/0/id"}}})},
    errors=((400, "invalid_input"),),
    params=(param("q", description="part of an email or username"), *page_params(200)))
@admin_required
def admin_users():
    page = query_int("page", 1)
    per_page = query_int("per_page", users.PER_PAGE, maximum=200)
    items, total, exact = users.search(request.args.get("q", "")[:254], page, per_page)
    return jsonify({"items": [users.summary(u) for u in items], "total": total, "total_exact": exact, "page": page,
                    "per_page": per_page})


@bp.get("/admin/users/<int:user_id>")
@operation("admin_user", "One account", SUMMARY, errors=(404,))
@admin_required
def admin_user(user_id):
    return jsonify(users.summary(users.get(user_id)))


# POST /admin/users/<id>/<action>: a route and a declaration each.
ACTIONS = {
    "deactivate": (users.deactivate, "Deactivate an account and end its sessions (not your own: 403)"),
    "activate": (users.activate, "Activate an account"),
    "unlock": (users.unlock, "Lift a sign-in lockout"),
    "send-reset": (recovery.send_reset_for, "Mail the account a reset code"),
    "clear-codes": (users.clear_pending_codes, "Delete the account's outstanding emailed codes (sign-in, reset, "
                    "second step, email change): one already mailed stops working"),
}


def _action_view(perform):
    def view(user_id):
        user = users.get(user_id)
        perform(user, g.user)
        return jsonify(users.summary(user))
    return view


for _name, (_perform, _summary) in ACTIONS.items():
    _endpoint = "admin_user_" + _name.replace("-", "_")
    bp.add_url_rule(f"/admin/users/<int:user_id>/{_name}", _endpoint, methods=["POST"],
                    view_func=operation(_endpoint, _summary, SUMMARY, errors=(404,))(
                        admin_required(_action_view(_perform))))


@bp.post("/admin/users/<int:user_id>/reset-factors")
@operation("admin_user_reset_factors", "Remove every second factor of an account that lost them (app, "
           "passkeys, recovery codes); ends its sessions and mails the owner. Needs the admin's own "
           "second factor: a code in the body, or a token from a sign-in through it within REAUTH_SECONDS",
           SUMMARY, errors=((400, "invalid_input", "invalid_code"), 403, 404, 423, 429))
@admin_required
@accepts(schemas.OwnFactor)
def admin_user_reset_factors(body, user_id):
    user = users.get(user_id)
    factors.reset_by_admin(user, g.user, factor_at=g.token.get("factor_at"), totp_code=body.totp,
                           recovery_code=body.recovery_code)
    return jsonify(users.summary(user))


@bp.get("/admin/invites")
@operation("admin_invites", "Invite codes (newest 1000)", {200: Answer(replies_admin.InviteList, "Invite codes")},
           errors=((400, "invalid_input"),),
           params=(param("status", schema={"type": "string", "enum": ["active", "full", "disabled", "expired"]}),))
@admin_required
def admin_invites():
    items = [invites.describe(i) for i in invites.recent(request.args.get("status"), limit=1000)]
    return jsonify({"items": items, "total": len(items)})


@bp.post("/admin/invites")
@operation("admin_create_invites", "Create invite codes", {
    201: Answer(replies_admin.InvitesCreated, "Created", {"disable": {
        "operationId": "admin_disable_invite", "parameters": {"path.code": "$response.body#/items/0/code"}}})},
    errors=(422,))
@admin_required
@accepts(schemas.InviteCreate)
def admin_create_invites(body):
    created = invites.create_invites(count=1 if body.count is None else body.count,
                                     uses=1 if body.uses is None else body.uses,
                                     expires=body.expires, created_by=g.user, code=body.code)
    return jsonify({"items": [invites.describe(i) for i in created]}), 201


@bp.delete("/admin/invites/<code>")
@operation("admin_disable_invite", "Disable an invite code", {200: Answer(replies_admin.Invite, "Disabled")},
           errors=(404,))
@admin_required
def admin_disable_invite(code):
    invite = invites.disable_invite(code, actor=g.user)
    if invite is None:
        raise NotFound()
    return jsonify(invites.describe(invite))


@bp.get("/admin/audit")
@operation("admin_audit", "The audit log, newest first; ?format=csv exports", {
    200: Answer(replies_admin.AuditPage, "One page, or the whole filtered log as CSV with format=csv", csv=True)},
    errors=((400, "invalid_input"),), params=(
        param("event", description="event name prefix, e.g. login."), param("email"), param("ip"),
        param("since", schema=DAY), param("until", schema=DAY, description="a day is inclusive"),
        param("format", schema={"type": "string", "enum": ["json", "csv"]}), *page_params(500)))
@admin_required
def admin_audit():
    statement = audit_search.from_args(request.args)
    if request.args.get("format") == "csv":
        return Response(stream_with_context(audit_search.csv_rows(statement)), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=audit.csv"})
    page = query_int("page", 1)
    per_page = query_int("per_page", 50, maximum=500)
    items, total, exact = audit_search.page(statement, page, per_page)
    return jsonify({"items": [e.to_dict() for e in items], "total": total, "total_exact": exact, "page": page,
                    "per_page": per_page})


@bp.get("/admin/mail-stats")
@operation("admin_mail_stats", "Mail delivery figures", {
    200: Answer(replies_mail.MailStats, "Figures since the counters began")})
@admin_required
def admin_mail_stats():
    return jsonify(mail.overview())


@bp.get("/admin/dashboard")
@operation("admin_dashboard", "Counts for today and the last 7 days", {200: Answer(replies_admin.Dashboard, "Figures")})
@admin_required
def admin_dashboard():
    return jsonify(users.dashboard())
