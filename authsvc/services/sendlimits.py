"""Limits on sending codes, per address and per IP, exact across every process.

All windows of one send are checked and charged in a single Lua script (sliding logs in
sorted sets, Redis' own clock), so concurrent requests on several instances can't overrun a
limit and a refused send charges nothing.
"""

import uuid
from functools import lru_cache

from flask import current_app
from limits import parse_many

from .. import crypto, keys
from ..errors import RateLimited
from ..extensions import redis_client
from . import daily, ipblocks, metrics
from .ipblock_scripts import BLOCKED_FOR, NOW
from .validation import mask_email

# KEYS: [the blocked-network keys, when ARGV[2] is 2,] [a record, when ARGV[5] is 1,] one sorted
# set per window. ARGV: member, the number of blocked-network keys (0 or 2), the client's family
# and address bits (ipblocks), 1 when a record is read, the record's JSON field and the value it
# must hold, then (limit, window_ms) per window. Returns {wait, record, charged}: wait is the ms
# to wait (0: admitted), or minus the ms a block of the client's network still lasts; a record
# that is missing or does not hold the value (an unknown registration) is answered before any
# limit, and nothing is charged for it, not even for a moment.
HIT_LUA = NOW + BLOCKED_FOR + """
local skip = tonumber(ARGV[2])
if skip > 0 then
  local blocked = blocked_for(KEYS[1], KEYS[2], ARGV[3], ARGV[4], now)
  if blocked > 0 then return {-blocked, false, 0} end
end
local raw = false
if ARGV[5] == '1' then
  skip = skip + 1
  raw = redis.call('GET', KEYS[skip])
  local ok, record = pcall(cjson.decode, raw or '')
  if not ok or type(record) ~= 'table' or record[ARGV[6]] ~= ARGV[7] then return {0, raw, 0} end
end
local wait = 0
for i = skip + 1, #KEYS do
  local limit = tonumber(ARGV[6 + 2 * (i - skip)])
  local window = tonumber(ARGV[7 + 2 * (i - skip)])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[i])
  if count >= limit then
    local first = redis.call('ZRANGE', KEYS[i], count - limit, count - limit, 'WITHSCORES')
    local w = tonumber(first[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return {wait, raw, 0} end
for i = skip + 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], ARGV[7 + 2 * (i - skip)])
end
return {0, raw, 1}
"""


# The same windows, read only: the wait in ms before a send would be admitted (0: now).
PEEK_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local count = redis.call('ZCOUNT', KEYS[i], now - window + 1, '+inf')
  if count >= limit then
    local first = redis.call('ZRANGEBYSCORE', KEYS[i], now - window + 1, '+inf', 'WITHSCORES',
                             'LIMIT', count - limit, 1)
    local w = tonumber(first[2]) + window - now
    if w > wait then wait = w end
  end
end
return wait
"""


@lru_cache(maxsize=32)
def _windows(spec):
    return tuple((item.amount, item.get_expiry()) for item in parse_many(spec))


def _rules(email, ip, purpose):
    config = current_app.config
    rules = []
    if email:
        addr = crypto.address_id(email)
        rules += [("email", keys.send_window("email", addr, i), amount, seconds)
                  for i, (amount, seconds) in enumerate(_windows(config["SEND_LIMIT_PER_EMAIL"]))]
        if config["RESEND_COOLDOWN"] > 0:
            # The cooldown is per flow: a registration code does not delay a sign-in code.
            rules.append(("cooldown", keys.send_window("cooldown", f"{addr}:{purpose}", 0), 1,
                          config["RESEND_COOLDOWN"]))
    if ip:
        rules += [("ip", keys.send_window("ip", ip, i), amount, seconds)
                  for i, (amount, seconds) in enumerate(_windows(config["SEND_LIMIT_PER_IP"]))]
    return rules


def charge_send(email, ip, purpose, read=None, check=None):
    """Admit one code send of `purpose` for (address, IP) or raise RateLimited(retry_after).

    Returns the charge (its member id and keys) so that a caller may refund it. With `read`
    = (key, field, value), the JSON record at key is fetched in the same script and the send
    is admitted only when the record's `field` holds `value`: for a missing or other record
    nothing is charged at all (a refund would leave the charge standing for a moment, which
    requests held in flight turn into a full window). `check` gets the record (None when
    missing) first and raises for one that does not qualify, before any limit answer; its
    result is returned with the charge, as (result, charge).
    """
    rules = _rules(email, ip, purpose) if current_app.config["RATELIMIT_ENABLED"] else []
    member = uuid.uuid4().hex
    # a code-sending API request's blocked-network check rides in this script (ipblocks.py)
    block_keys, block_args = ipblocks.take_pending_check() or ([], ["", ""])
    read_keys, read_args = ([read[0]], [1, read[1], read[2]]) if read is not None else ([], [0, "", ""])
    charge = (member, [r[1] for r in rules]) if rules else None
    wait_ms, value, charged = 0, None, False
    if rules or block_keys or read_keys:
        args = [member, len(block_keys), *block_args, *read_args]
        for _scope, _key, amount, seconds in rules:
            args += [amount, seconds * 1000]
        wait_ms, value, charged = redis_client.script(HIT_LUA)(
            keys=[*block_keys, *read_keys, *(charge[1] if charge else [])], args=args)
        wait_ms, charged = int(wait_ms), bool(charged)
    ipblocks.refuse(-wait_ms)
    if check is not None:
        try:
            result = check(value)
        except Exception:
            if charged:
                refund(charge)
            raise
    if wait_ms > 0:
        metrics.RATE_LIMITED.labels("send").inc()
        daily.limited("send", ip)
        raise RateLimited(wait_ms / 1000)
    return (result, charge) if check is not None else charge


def refund(charge):
    """Take back a charge whose send did not happen for a reason the client can't help."""
    if charge:
        member, charged = charge
        pipe = redis_client.pipeline(transaction=False)
        for key in charged:
            pipe.zrem(key, member)
        pipe.execute()


def wait_before_send(email, ip, purpose):
    """Whole seconds before a send of `purpose` for (address, IP) would be admitted (0: now).

    Read only: the code pages show it (the resend button's countdown); nothing is charged.
    Rounded up, so a button is never offered before the server would take the send.
    """
    if not current_app.config["RATELIMIT_ENABLED"]:
        return 0
    rules = _rules(email, ip, purpose)
    if not rules:
        return 0
    args = []
    for _scope, _key, amount, seconds in rules:
        args += [amount, seconds * 1000]
    wait_ms = int(redis_client.script(PEEK_LUA)(keys=[r[1] for r in rules], args=args))
    return -(-wait_ms // 1000)


def resend_after():
    """Seconds a client should wait before asking for another code."""
    return current_app.config["RESEND_COOLDOWN"]


def code_sent(email, purpose, status="code_sent"):
    """The answer to every code send: the same shape whether or not a mail really goes out."""
    return {"status": status, "email": mask_email(email), "expires_in": keys.code_ttl(purpose),
            "resend_after": resend_after()}
