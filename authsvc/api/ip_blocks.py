"""API: blocked client networks (services/ipblocks.py): list, add, lift."""

from flask import g, jsonify

from ..services import ipblocks
from . import bp, replies_admin, schemas
from .bearer import admin_required
from .declare import Answer, operation
from .inputs import accepts


def _reply(record):
    return {k: record[k] for k in ("id", "network", "kind", "reason", "created_at", "expires_at", "created_by")}


@bp.get("/admin/ip-blocks")
@operation("admin_ip_blocks", "Blocked client networks in force (automatic and by admins), soonest to end first",
           {200: Answer(replies_admin.IpBlockList, "Blocks in force")})
@admin_required
def admin_ip_blocks():
    items = [_reply(r) for r in ipblocks.listing()]
    return jsonify({"items": items, "total": len(items)})


@bp.post("/admin/ip-blocks")
@operation("admin_block_ip", "Block an address or network (IPv4, IPv6; an IPv6 one at least its /64) "
           "for `hours`; one holding your own address needs confirm=true (409 otherwise)", {
               201: Answer(replies_admin.IpBlock, "Blocked", {"lift": {
                   "operationId": "admin_lift_ip_block", "parameters": {"path.target": "$response.body#/id"}}})},
           errors=(409, 422))
@admin_required
@accepts(schemas.IpBlockCreate)
def admin_block_ip(body):
    record = ipblocks.add(body.network, body.reason, 24 if body.hours is None else body.hours,
                          actor=g.user, confirm=bool(body.confirm))
    return jsonify(_reply(record)), 201


@bp.delete("/admin/ip-blocks/<path:target>")
@operation("admin_lift_ip_block", "Lift a block now, by its id or its network (CIDR)",
           {200: Answer(replies_admin.IpBlock, "Lifted")}, errors=(404,))
@admin_required
def admin_lift_ip_block(target):
    return jsonify(_reply(ipblocks.lift(target, actor=g.user)))
