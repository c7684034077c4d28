"""One-time emailed codes: issue, verify-and-consume atomically, void.

A code is stored only as HMAC(purpose, address, code) in a hash with its wrong-try count;
the key's TTL is the code's TTL. Verification is one Lua script (one round trip), so 20
concurrent right answers yield exactly one success and attempt counting cannot be raced.
"""

import secrets

from flask import current_app
from flask_babel import gettext as _

from .. import crypto, keys, redis_writes
from ..errors import CodeExpired, InvalidCode, RateLimited
from ..extensions import redis_client
from . import audit, metrics

# KEYS: code key. ARGV: new hash, TTL. The previous code's hash is kept as `p` so that
# entering a superseded code can say so instead of costing one of the new code's tries.
ISSUE_LUA = """
local previous = redis.call('HGET', KEYS[1], 'h')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'n', 0)
if previous then redis.call('HSET', KEYS[1], 'p', previous) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: code key, per-address failure budget. ARGV: candidate hash, max tries, daily cap.
# Returns {status, remaining}: 1 ok, 0 wrong (remaining tries), -1 no code, -2 budget spent,
# -3 the code that this one replaced.
VERIFY_LUA = """
local spent = tonumber(redis.call('GET', KEYS[2]) or '0')
if spent >= tonumber(ARGV[3]) then return {-2, redis.call('TTL', KEYS[2])} end
local stored = redis.call('HGET', KEYS[1], 'h')
if not stored then return {-1, 0} end
if stored == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {1, 0}
end
if redis.call('HGET', KEYS[1], 'p') == ARGV[1] then return {-3, 0} end
local tries = redis.call('HINCRBY', KEYS[1], 'n', 1)
if redis.call('INCR', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
local left = tonumber(ARGV[2]) - tries
if left <= 0 then redis.call('DEL', KEYS[1]) end
return {0, left}
"""


def _digest(purpose, email, code, flow):
    return crypto.keyed_hash("code", purpose, email, flow or "", code)


def generate_code():
    """Six digits from `secrets`, leading zeros included."""
    return f"{secrets.randbelow(1_000_000):06d}"


def issue_code(purpose, email, flow=None):
    """Store a fresh code for (purpose, address[, flow]), voiding that owner's previous one.

    `flow` binds the code to one process (a registration's id hash) instead of to the
    address alone: codes of two registrations for one address never replace each other.
    """
    code = generate_code()
    # a new code voids the previous one and its try count: one script, sent with the request's
    # other writes just before its answer (redis_writes.py), or at once outside a request
    owner = flow or crypto.address_id(email)
    redis_client.script(ISSUE_LUA)(keys=[keys.code(purpose, owner)],
                                   args=[_digest(purpose, email, code, flow), keys.code_ttl(purpose)],
                                   client=redis_writes.pipeline())
    metrics.CODES_ISSUED.labels(purpose).inc()
    audit.record("code.issued", email=email, detail={"purpose": purpose})
    return code


def verify_code(purpose, email, code, flow=None):
    """Consume the code when right; raise InvalidCode(remaining) or CodeExpired otherwise.

    Wrong tries count against the address's daily budget whatever the flow.
    """
    config = current_app.config
    addr = crypto.address_id(email)
    status, remaining = redis_client.script(VERIFY_LUA)(
        keys=[keys.code(purpose, flow or addr), keys.code_failures(addr)],
        args=[_digest(purpose, email, code, flow), config["CODE_MAX_ATTEMPTS"],
              config["CODE_DAILY_FAILURE_CAP"], keys.CODE_FAILURES_TTL],
    )
    result = {1: "ok", 0: "wrong", -1: "expired", -2: "budget", -3: "superseded"}[int(status)]
    metrics.CODES_VERIFIED.labels(purpose, result).inc()
    audit.record("code.verified" if result == "ok" else "code.failed",
                 "success" if result == "ok" else "failure", email=email,
                 detail={"purpose": purpose, "result": result})
    if result == "ok":
        return
    if result == "expired":
        raise CodeExpired()
    if result == "superseded":
        raise CodeExpired(_("A newer code was sent since. Please use the code from the latest email."))
    if result == "budget":
        raise RateLimited(max(1, int(remaining)))
    if int(remaining) <= 0:
        raise CodeExpired(_("Too many wrong tries: this code no longer works. Please request a new one."))
    raise InvalidCode(int(remaining))
