"""Each provider's daily quota: mail sent per DISPLAY_TIMEZONE day, shared by every worker.

A worker reserves one send before it talks to the server (one script: a quota is never
overrun by workers racing) and gives the reservation back when the server did not accept the
mail. The count is the day figure mail.sent.<provider> (services/daily.py), so the dashboard,
the reports and the 80 % alert read the same number. At the primary's quota new mail goes to
the fallback; with no fallback (or the fallback at its own quota) it waits in the queue and is
retried until its deadline, never offered to a provider that would refuse it.
"""

from flask import current_app

from ... import keys
from ...extensions import redis_client
from ...timefmt import local_day

SETTING = {"primary": "MAIL_DAILY_QUOTA", "fallback": "MAIL_FALLBACK_DAILY_QUOTA"}
ALERT_AT = 0.8

# KEYS: the day's figures. ARGV: field, quota (0: none), TTL. -1 when the quota is reached.
RESERVE_LUA = """
local used = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local quota = tonumber(ARGV[2])
if quota > 0 and used >= quota then return -1 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return used + 1
"""


def field(provider):
    return f"mail.sent.{provider}"


def limit(provider):
    """The provider's daily quota; 0 for none."""
    setting = SETTING.get(provider)
    return current_app.config[setting] if setting else 0


def reserve(provider):
    """Take one of today's sends for `provider`: the day it counts on, or None at the quota."""
    day = local_day()
    used = redis_client.script(RESERVE_LUA)(keys=[keys.figures_day(day)],
                                            args=[field(provider), limit(provider), keys.FIGURES_DAY_TTL])
    return day if int(used) >= 0 else None


def release(provider, day):
    """Give back a reservation the server did not use (a failure, a refusal)."""
    redis_client.hincrby(keys.figures_day(day), field(provider), -1)


SENT_ALREADY, CIRCUIT_OPEN, RESERVED, QUOTA_REACHED = "sent", "circuit", "reserved", "quota"
# KEYS: the day's figures, the job's done key, the provider's open-circuit key. ARGV: as
# RESERVE_LUA. -3: the job was accepted already; -2: the circuit is open; else as RESERVE_LUA.
TAKE_LUA = """
if redis.call('EXISTS', KEYS[2]) == 1 then return -3 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -2 end
""" + RESERVE_LUA


def take(provider, job_id):
    """Just before SMTP, in one round trip: (verdict, day). SENT_ALREADY when a server accepted
    the job already (another worker's), CIRCUIT_OPEN while the provider is out of use,
    QUOTA_REACHED at its quota, else RESERVED and the day the send counts on (release() it
    when the server does not accept the mail)."""
    day = local_day()
    used = int(redis_client.script(TAKE_LUA)(
        keys=[keys.figures_day(day), keys.mail_done(job_id), keys.mail_circuit_open(provider)],
        args=[field(provider), limit(provider), keys.FIGURES_DAY_TTL]))
    if used >= 0:
        return RESERVED, day
    return {-3: SENT_ALREADY, -2: CIRCUIT_OPEN}.get(used, QUOTA_REACHED), None


def reached(provider):
    quota = limit(provider)
    return bool(quota) and used_today(provider) >= quota


def used_today(provider):
    return int(redis_client.hget(keys.figures_day(local_day()), field(provider)) or 0)


def today(providers=("primary", "fallback")):
    """{provider: {"sent", "quota" (None: no limit), "used_ratio" (None: no limit)}} for today."""
    found = {}
    for provider in providers:
        sent, quota = used_today(provider), limit(provider)
        found[provider] = {"sent": sent, "quota": quota or None,
                           "used_ratio": round(sent / quota, 4) if quota else None}
    return found
