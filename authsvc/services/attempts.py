"""Password attempts: an atomic slot before the check, settled after it.

Counting after bcrypt let 16 parallel guesses all pass the "locked?" check: 7-8 were checked
against a lockout at 5, and a right password could win after the lock was set. Now every
attempt first takes a slot in one Lua script — locked, or settled failures + attempts in
flight already at the threshold, or a captcha due and not sent: refused; otherwise reserved —
and gives it back in a second script that counts the failure and sets the lock at exactly
the threshold. N parallel guesses check at most LOGIN_LOCKOUT_THRESHOLD passwords, and at most
LOGIN_CAPTCHA_AFTER without a captcha. A slot whose process died expires after SLOT_SECONDS.
"""

import uuid
from dataclasses import dataclass

from flask import current_app

from .. import keys
from ..errors import AccountLocked, CaptchaRequired, InvalidCredentials
from ..extensions import redis_client
from ..requestinfo import client_net
from . import audit, mail, metrics, passwords

WARN_AFTER = 3  # from this failure on, a wrong password's answer says how many tries are left
SLOT_SECONDS = 30  # far above one bcrypt check; only a crashed process leaves a slot that long

# KEYS: lock, failures, in-flight (zset), IP failures, IP in-flight (zset).
# ARGV: slot id, lockout threshold, captcha rule (0 never, 1 after failures, 2 always),
#       captcha after, has captcha (0/1), slot ms.
# Returns {1, captcha due (0/1)} reserved; {-1, ttl} locked; {-2, 0} every attempt spoken
# for; {-3, 0} a captcha is due and none was sent.
RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local slot = tonumber(ARGV[6])
local lock = redis.call('PTTL', KEYS[1])
if lock > 0 or lock == -1 then return {-1, math.ceil(math.max(lock, 1000) / 1000)} end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - slot)
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - slot)
local used = tonumber(redis.call('GET', KEYS[2]) or '0') + redis.call('ZCARD', KEYS[3])
if used >= tonumber(ARGV[2]) then return {-2, 0} end
local rule = tonumber(ARGV[3])
local due = 0
if rule == 2 then due = 1 end
if rule == 1 then
  local after = tonumber(ARGV[4])
  local ip_used = tonumber(redis.call('GET', KEYS[4]) or '0') + redis.call('ZCARD', KEYS[5])
  if used >= after or ip_used >= after then due = 1 end
end
if due == 1 and ARGV[5] == '0' then return {-3, 0} end
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('PEXPIRE', KEYS[3], slot)
redis.call('ZADD', KEYS[5], now, ARGV[1])
redis.call('PEXPIRE', KEYS[5], slot)
return {1, due}
"""

# KEYS: as above. ARGV: slot id, outcome (ok | fail | void), threshold, lock seconds,
#       failures TTL, IP failures TTL.
# Returns {failures, locked (0/1)}.
SETTLE_LUA = """
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
if ARGV[2] == 'ok' then redis.call('DEL', KEYS[2]) return {0, 0} end
if ARGV[2] == 'void' then return {0, 0} end
local failures = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('INCR', KEYS[4])
redis.call('EXPIRE', KEYS[4], ARGV[6])
if failures >= tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], '1', 'EX', ARGV[4])
  redis.call('DEL', KEYS[2])
  return {failures, 1}
end
return {failures, 0}
"""


@dataclass
class Slot:
    subject: str
    net: str
    id: str
    captcha_due: bool = False

    def keys(self):
        return [keys.lockout(self.subject), keys.login_failures(self.subject),
                keys.login_inflight(self.subject), keys.ip_login_failures(self.net),
                keys.ip_login_inflight(self.net)]


def captcha_rule(enabled):
    """0: no captcha is ever asked, 1: after failures, 2: always."""
    mode = current_app.config["LOGIN_CAPTCHA"]
    if mode == "never" or not enabled:
        return 0
    return 2 if mode == "always" else 1


def reserve(subject, rule=0, has_captcha=False):
    """Take an attempt slot for `subject` or raise AccountLocked / CaptchaRequired."""
    config = current_app.config
    slot = Slot(subject, client_net() or "-", uuid.uuid4().hex)
    status, value = redis_client.script(RESERVE_LUA)(keys=slot.keys(), args=[
        slot.id, config["LOGIN_LOCKOUT_THRESHOLD"], rule, config["LOGIN_CAPTCHA_AFTER"],
        1 if has_captcha else 0, SLOT_SECONDS * 1000])
    status = int(status)
    if status == -1:
        raise AccountLocked(int(value))
    if status == -2:
        # the remaining tries are all being checked right now: they decide the lock
        raise AccountLocked(keys.lockout_ttl())
    if status == -3:
        raise CaptchaRequired()
    slot.captcha_due = bool(int(value))
    return slot


def settle(slot, outcome):
    """Give the slot back: 'ok' clears the failures, 'fail' counts one, 'void' neither.

    Returns (failures, locked_now); locked_now is true for exactly one failure per lock.
    """
    failures, locked = redis_client.script(SETTLE_LUA)(keys=slot.keys(), args=[
        slot.id, outcome, current_app.config["LOGIN_LOCKOUT_THRESHOLD"], keys.lockout_ttl(),
        keys.login_failures_ttl(), keys.IP_LOGIN_FAILURES_TTL])
    return int(failures), bool(int(locked))


def net_failures_seen():
    """Settled failures + attempts in flight from this client's network (the sign-in page
    shows the captcha from these; the account's own count is applied by reserve())."""
    net = client_net() or "-"
    pipe = redis_client.pipeline(transaction=False)
    pipe.get(keys.ip_login_failures(net))
    pipe.zcard(keys.ip_login_inflight(net))
    failures, inflight = pipe.execute()
    return int(failures or 0) + inflight


def check_password(slot, user, password, login):
    """bcrypt inside the slot; settle it; raise InvalidCredentials or AccountLocked on failure."""
    try:
        if user is None:
            passwords.burn_verification(password)
            ok = False
        else:
            ok = bool(password) and passwords.verify_password(password, user.password_hash)
    except Exception:
        settle(slot, "void")
        raise
    if ok and user.active:
        if ok == passwords.REHASH:  # hashed under a previous SECRET_KEY: store it under the current one
            user.password_hash = passwords.hash_password(password)
        settle(slot, "ok")
        return
    reason = "unknown_user" if user is None else ("wrong_password" if not ok else "inactive")
    email = user.email if user else (login if "@" in login else None)
    left = failed(slot, user, email, "login.failure", {"reason": reason}, "password")
    # The count is the login name's, known or not (unknown names are counted alike under
    # their own subject), so the figure says nothing about whether the account exists.
    if current_app.config["LOGIN_LOCKOUT_THRESHOLD"] - left >= WARN_AFTER and left > 0:
        raise InvalidCredentials(left, keys.lockout_ttl())
    raise InvalidCredentials()


def failed(slot, user, email, event, detail, method):
    """Settle a slot as a failure (a wrong password, app code or recovery code), audit it and,
    when it set the lock, audit that, mail the owner and raise AccountLocked.

    Returns the tries left before the lock."""
    failures, locked = settle(slot, "fail")
    metrics.LOGINS.labels(method, "failure").inc()
    audit.record(event, "failure", user=user, email=email, detail={**detail, "failures": failures})
    if locked:
        ttl = keys.lockout_ttl()
        audit.record("login.locked", "failure", user=user, email=email, detail={"seconds": ttl})
        if user is not None:
            mail.security_alert(user, "lockout", minutes=ttl // 60)
        raise AccountLocked(ttl)
    return max(0, current_app.config["LOGIN_LOCKOUT_THRESHOLD"] - failures)
