"""Blocked client networks: automatic (a client that keeps hitting limits) and by admins.

Everything lives in Redis, in three hashes (keys.py): the records admins list, one field per
blocked network ("4/" or "6/" + the network's prefix bits -> "<id> <expiry ms>") and the
prefix lengths in use. A request's check is one EVALSHA (one round trip, no SQL): the script
takes the client address as a bit string and does one HGET per prefix length in use, so a
/24, a /64 and a single address cost the same whatever the number of blocks. Expiry is
checked in the script against Redis' clock; expired records are swept when the list is read.
"""

import ipaddress
import json
import secrets
import time
from functools import lru_cache

import redis
from flask import current_app, g
from flask_babel import gettext as _

from .. import keys
from ..errors import Conflict, InvalidInput, IpBlocked, NotFound
from ..extensions import redis_client
from ..requestinfo import client_ip, client_net
from ..timefmt import to_moment
from . import audit, metrics
from .ipblock_scripts import BLOCK_LUA, CHECK_LUA, LIFT_LUA
from .validation import has_control_chars

MAX_HOURS = 24 * 365
MIN_PREFIX = {4: 8, 6: 16}  # wider networks are refused: a typo must not block a continent
EXEMPT_PATHS = ("/healthz", "/readyz", "/metrics", "/static/")

@lru_cache(maxsize=4096)
def _address_bits(ip):
    """('4' | '6', the address as '0'/'1' characters), or None for loopback and non-addresses."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None  # the machine itself (and a proxy without PROXY_FIX_X_FOR) is never blocked
    return str(address.version), format(int(address), f"0{address.max_prefixlen}b")


def _fields(network):
    family = str(network.version)
    bits = format(int(network.network_address), f"0{network.max_prefixlen}b")[:network.prefixlen]
    return f"{family}/{bits}", f"{family}/{network.prefixlen}"


def _redis_keys():
    return [keys.IP_BLOCK_NETS, keys.IP_BLOCK_LENGTHS, keys.IP_BLOCKS]


def _check_args():
    """The check script's arguments for this request, or None when it is not checked."""
    from flask import request

    if request.path.startswith(EXEMPT_PATHS):
        return None
    found = _address_bits(client_ip() or "")
    return list(found) if found else None


def queue_check(pipe):
    """Add this request's check to a pipeline that another read of the request sends anyway
    (the session store's): the check then costs no round trip of its own. Call checked()
    with the pipeline's answer for it; returns False when nothing was queued."""
    args = _check_args()
    if args is None:
        return False
    _ask(args, client=pipe)
    return True


def checked(wait_ms):
    """Remember a check queued on a pipeline (queue_check) for check()."""
    g.ip_block_wait_ms = int(wait_ms)


def check():
    """Raise IpBlocked when the client's network is blocked: the answer the session read
    brought (queue_check), else one round trip of its own, or none on an endpoint whose
    send-limit script does the check (checked_by_send_limits). No SQL."""
    wait_ms = g.pop("ip_block_wait_ms", None)
    if wait_ms is None:
        args = _check_args()
        if args is None:
            return
        if _left_to_send_limits():
            g.ip_block_check = args
            return
        wait_ms = int(_ask(args))
    refuse(wait_ms)


def _ask(args, client=None):
    """The check script for the client's (family, address bits): its wait in ms, or queued on
    `client` when that is a pipeline."""
    return redis_client.script(CHECK_LUA)(keys=_redis_keys()[:2], args=args, client=client)


def refuse(wait_ms):
    """IpBlocked when `wait_ms` (a check's answer) is a block still in force."""
    if wait_ms > 0:
        g.ip_blocked = True
        raise IpBlocked(wait_ms / 1000)


def checked_by_send_limits(view):
    """Mark a code-sending API view: the send-limit script it runs first checks the client's
    network too (sendlimits.charge_send), so the check costs no round trip of its own."""
    view.ip_block_in_send_limits = True
    return view


def _left_to_send_limits():
    from flask import request

    return getattr(current_app.view_functions.get(request.endpoint), "ip_block_in_send_limits", False)


def take_pending_check():
    """(keys, args) of a check left to the send-limit script, once; None when there is none."""
    args = g.pop("ip_block_check", None)
    return None if args is None else (_redis_keys()[:2], args)


def settle():
    """At the request's end: a check left to the send limits that never ran (the request
    stopped before its send, or limits are off) runs now. Raises IpBlocked."""
    if (args := g.pop("ip_block_check", None)) is not None:
        refuse(int(_ask(args)))


def parse_network(raw):
    """An address or CIDR as the network a block covers; an IPv6 one narrower than
    IPV6_LIMIT_PREFIX is widened to it (a client steps around a narrower block)."""
    text = (raw or "").strip()
    if not text:
        raise InvalidInput({"network": [_("Enter an address or a network, e.g. 203.0.113.7 or 203.0.113.0/24.")]})
    try:
        if has_control_chars(text) or len(text) > 64:
            raise ValueError(text)
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidInput({"network": [_("This is not an IP address or network, e.g. 203.0.113.7, "
                                          "203.0.113.0/24 or 2001:db8:1:2::/64.")]}) from None
    if network.version == 6 and network.network_address.ipv4_mapped:
        network = ipaddress.ip_network(f"{network.network_address.ipv4_mapped}/{max(0, network.prefixlen - 96)}")
    prefix = current_app.config["IPV6_LIMIT_PREFIX"]
    if network.version == 6 and network.prefixlen > prefix:
        network = network.supernet(new_prefix=prefix)
    if network.prefixlen < MIN_PREFIX[network.version]:
        raise InvalidInput({"network": [_("This network is too wide to block (at most /%(num)d).",
                                          num=MIN_PREFIX[network.version])]})
    if network.is_loopback:
        raise InvalidInput({"network": [_("Loopback addresses stay reachable: they are the machine itself.")]})
    return network


def _record(block_id, network, kind, reason, seconds, actor=None):
    now = time.time()
    return {"id": block_id, "network": str(network), "kind": kind, "reason": reason,
            "created_at": _iso(now), "expires_at": _iso(now + seconds),
            "created_by": getattr(actor, "username", None)}


def _iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def own_address_inside(network):
    """True when the request comes from inside `network` (an admin blocking himself)."""
    mine = client_ip()
    try:
        address = ipaddress.ip_address(mine or "")
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.version == network.version and address in network


def add(raw_network, reason, hours, actor=None, confirm=False):
    """Block a network for `hours` (an admin's block); returns its record.

    Refuses (409) a network holding the admin's own address unless `confirm`: he would lock
    himself out of the admin area that lifts it (the CLI on the server still can)."""
    network = parse_network(raw_network)
    reason = (reason or "").strip()
    problems = {}
    if not reason or len(reason) > 200 or has_control_chars(reason):
        problems["reason"] = [_("Say why, in at most 200 characters (it is shown in the list and the audit log).")]
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_HOURS:
        problems["hours"] = [_("Between 1 hour and %(num)d hours (a year).", num=MAX_HOURS)]
    if problems:
        raise InvalidInput(problems)
    if own_address_inside(network) and not confirm:
        raise Conflict({"confirm": [_("%(network)s holds your own address %(ip)s: blocking it locks you out "
                                      "of this admin area too. Confirm to block it anyway.",
                                      network=str(network), ip=client_ip())]},
                       message=_("This block would include your own address."))
    purge_expired()
    record = _record(secrets.token_hex(6), network, "manual", reason, hours * 3600, actor)
    field, length = _fields(network)
    replaced = redis_client.script(BLOCK_LUA)(
        keys=[*_redis_keys(), keys.IP_BLOCK_NETS],
        args=[field, length, record["id"], hours * 3600, json.dumps(record, ensure_ascii=False), "set", 0, 0])
    metrics.IP_BLOCKS.labels("manual").inc()
    audit.record("ip.blocked", actor=actor, detail={
        "network": record["network"], "reason": reason, "expires_at": record["expires_at"],
        "kind": "manual", **({"replaced": replaced.decode()} if replaced else {})})
    return record


def limit_hit(status):
    """Count a limit answer (429/423) against the client's network; at IP_BLOCK_AFTER within
    IP_BLOCK_WINDOW the network is blocked for IP_BLOCK_SECONDS (audited once, counted)."""
    config = current_app.config
    if g.get("ip_blocked") or not config["IP_BLOCK_AFTER"] or not config["RATELIMIT_ENABLED"]:
        return
    net = client_net()
    if net is None or _address_bits(client_ip() or "") is None:
        return
    network = ipaddress.ip_network(net, strict=False)
    seconds = config["IP_BLOCK_SECONDS"]
    reason = f"{config['IP_BLOCK_AFTER']} limit answers within {config['IP_BLOCK_WINDOW']} s"
    record = _record(secrets.token_hex(6), network, "auto", reason, seconds)
    field, length = _fields(network)
    try:
        created = redis_client.script(BLOCK_LUA)(
            keys=[*_redis_keys(), keys.ip_limit_hits(net)],
            args=[field, length, record["id"], seconds, json.dumps(record), "hit",
                  config["IP_BLOCK_WINDOW"], config["IP_BLOCK_AFTER"]])
    except redis.RedisError as exc:  # the answer is a refusal already; not counting it is no reason to fail
        current_app.logger.warning("limit hit not counted: %s", exc)
        return
    if created is None:
        return
    purge_expired()  # ended blocks leave the hashes when the list is read, or now
    metrics.IP_BLOCKS.labels("auto").inc()
    audit.record("ip.blocked", "failure", detail={
        "network": record["network"], "reason": reason, "expires_at": record["expires_at"],
        "kind": "auto", "last_status": status})


def listing():
    """Every block still in force, the soonest to end first."""
    return sorted(purge_expired(), key=lambda r: r["expires_at"])


def purge_expired():
    """Remove ended blocks (audited as lifted: expired); returns the ones in force."""
    now = _iso(time.time())
    alive = []
    for raw in redis_client.hvals(keys.IP_BLOCKS):
        record = json.loads(raw)
        if record["expires_at"] > now:
            alive.append(record)
        elif _remove(record):
            audit.record("ip.unblocked", detail={"network": record["network"], "reason": "expired",
                                                 "kind": record["kind"], "id": record["id"]})
    return alive


def _remove(record):
    field, length = _fields(ipaddress.ip_network(record["network"]))
    return bool(redis_client.script(LIFT_LUA)(keys=_redis_keys(), args=[field, length, record["id"]]))


def find(target):
    """The block with this id, or the one on exactly this network (as typed or widened)."""
    records = {r["id"]: r for r in purge_expired()}
    if target in records:
        return records[target]
    try:
        network = str(parse_network(target))
    except InvalidInput:
        network = None
    for record in records.values():
        if record["network"] == network:
            return record
    raise NotFound(_("No block in force matches %(target)s.", target=(target or "")[:64]))


def lift(target, actor=None, reason="lifted by an admin"):
    """End a block now; returns its record (NotFound when none is in force)."""
    record = find(target)
    if not _remove(record):
        raise NotFound()
    audit.record("ip.unblocked", actor=actor, detail={
        "network": record["network"], "reason": reason, "kind": record["kind"], "id": record["id"]})
    return record


def describe(record):
    """A record with its times as datetimes (the page formats them)."""
    return dict(record, created_at=to_moment(record["created_at"]), expires_at=to_moment(record["expires_at"]))


def active_count():
    """Blocks in force (the /metrics gauge; read only: the scrape writes no audit rows)."""
    now = _iso(time.time())
    return sum(1 for raw in redis_client.hvals(keys.IP_BLOCKS) if json.loads(raw)["expires_at"] > now)
