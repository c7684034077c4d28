"""API bearer tokens and the per-user index of every session and token.

Tokens are 256-bit random strings; Redis holds only their SHA-256. Each token and each
browser session records the user's `auth_epoch` at creation: rotating the epoch (password
change, reset, deactivation) ends all of them at once, and the index lets us also delete
their records and list them on the account page.
"""

import hmac
import json
import secrets
import time

from .. import keys
from ..crypto import token_hash
from ..errors import NotFound, Unauthorized
from ..extensions import after_commit, db, redis_client
from ..models import User, new_epoch, unix_iso
from ..requestinfo import client_ip, describe_device, user_agent
from . import audit

TOUCH_EVERY = 60
KIND_KEY = {"web": keys.session, "api": keys.api_token}


def issue_api_token(user, method="password", factor=None):
    """Create a bearer token for the user; returns (token, expires_in). `factor`: the second
    factor the sign-in passed, if any (factor_at: when, for actions that need it fresh)."""
    token = secrets.token_urlsafe(32)
    digest = token_hash(token)
    now = time.time()
    meta = {"uid": str(user.id), "epoch": user.auth_epoch, "method": method, "created": now,
            "last_seen": now, "ip": client_ip(), "ua": user_agent(),
            "password_at": now if method in ("password", "passkey") else 0, "factor_at": now if factor else 0}
    ttl = keys.api_token_ttl()
    pipe = redis_client.pipeline(transaction=False)
    pipe.set(keys.api_token(digest), json.dumps({"meta": meta}), ex=ttl)
    pipe.hset(keys.user_sessions(user.id), digest, "api")
    pipe.expire(keys.user_sessions(user.id), keys.user_sessions_ttl())
    pipe.execute()
    return token, ttl


def resolve_api_token(token):
    """(user, token meta) for a valid bearer token; raises Unauthorized otherwise."""
    if not token or len(token) > 128:
        raise Unauthorized()
    digest = token_hash(token)
    raw = redis_client.get(keys.api_token(digest))
    if raw is None:
        raise Unauthorized()
    meta = json.loads(raw)["meta"]
    user = db.session.get(User, int(meta["uid"]))
    if user is None or not user.active or not hmac.compare_digest(meta["epoch"], user.auth_epoch):
        redis_client.delete(keys.api_token(digest))
        raise Unauthorized()
    now = time.time()
    if now - meta.get("last_seen", 0) > TOUCH_EVERY:
        meta.update(last_seen=now, ip=client_ip())
        redis_client.set(keys.api_token(digest), json.dumps({"meta": meta}), keepttl=True, xx=True)
    meta["hash"] = digest
    return user, meta


def mark_token_reauthenticated(digest):
    """Record a fresh password confirmation on a token (unlocks sensitive operations)."""
    raw = redis_client.get(keys.api_token(digest))
    if raw is None:
        raise Unauthorized()
    record = json.loads(raw)
    record["meta"]["password_at"] = time.time()
    redis_client.set(keys.api_token(digest), json.dumps(record), keepttl=True, xx=True)


def adopt_epoch(user, digest):
    """Carry the token in use over to the user's new epoch (it survives end_all(keep=...))."""
    raw = redis_client.get(keys.api_token(digest))
    if raw is None:
        return
    record = json.loads(raw)
    record["meta"]["epoch"] = user.auth_epoch
    redis_client.set(keys.api_token(digest), json.dumps(record), keepttl=True, xx=True)


def revoke(user_id, digest, kind):
    """Delete one session or token record and its index entry (a browser session is marked as
    ended elsewhere: its next page says so)."""
    _end(user_id, [(digest, kind)])


def _end(user_id, entries):
    """Delete these (digest, kind) records and their index entries; browser sessions keep a
    short-lived marker (keys.session_ended). Returns how many records were still live."""
    if not entries:
        return 0
    web = [digest for digest, kind in entries if kind == "web"]
    pipe = redis_client.pipeline(transaction=False)
    for digest in web:
        pipe.ttl(keys.session(digest))
    remaining = pipe.execute() if web else []
    pipe = redis_client.pipeline(transaction=False)
    for digest, kind in entries:
        pipe.delete(KIND_KEY.get(kind, keys.session)(digest))
    for digest, ttl in zip(web, remaining, strict=True):
        if ttl and ttl > 0:  # a live session (a dead index entry needs no explanation)
            pipe.set(keys.session_ended(digest), "1", ex=keys.session_ended_ttl(ttl))
    pipe.hdel(keys.user_sessions(user_id), *[digest for digest, _kind in entries])
    return sum(pipe.execute()[:len(entries)])


def _entries(user):
    return [(d.decode(), k.decode()) for d, k in redis_client.hgetall(keys.user_sessions(user.id)).items()]


def end_all(user, keep=None):
    """Rotate the user's epoch and delete every session and token record except `keep`.

    The caller commits the epoch change; the epoch alone already invalidates everything.
    The user's OpenID Connect refresh tokens are revoked too (access tokens die with the epoch).
    """
    from .oidc.grants import revoke_user_tokens

    user.auth_epoch = new_epoch()
    revoke_user_tokens(user, reason="sessions_ended")
    entries = _entries(user)
    _end(user.id, [(digest, kind) for digest, kind in entries if digest != keep])
    after_commit(lambda: _seal_epoch(user.id, user.auth_epoch, keep))
    return len(entries) - (1 if keep in {digest for digest, _kind in entries} else 0)


# KEYS: the account's seal. ARGV: the epoch this end wrote, the epoch committed since. A seal
# is corrected only while it still holds this end's own epoch (a later end's seal stays).
RESEAL_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
end
return 1
"""


def _seal_epoch(user_id, epoch, keep):
    """Once the new epoch is committed: record it where the session store's save script reads
    it, then end again whatever a sign-in that read the old epoch saved in the meantime. A
    save after this is refused (session_store.SAVE_LUA); one before it is ended here.

    Two ends of one account at once may seal in the other order than they committed (a
    thread descheduled between its commit and its SET): a seal left at the older epoch would
    refuse every session from then on. So the committed epoch is read back after the SET, and
    a seal still holding ours is corrected to it: whichever SET comes last reads a commit at
    least as new as the last one."""
    key = keys.user_epoch(user_id)
    redis_client.set(key, epoch, ex=keys.user_sessions_ttl())
    committed = _committed_epoch(user_id)
    if committed is not None and committed != epoch:
        redis_client.script(RESEAL_LUA)(keys=[key], args=[epoch, committed])
        epoch = committed
    web = [d.decode() for d, k in redis_client.hgetall(keys.user_sessions(user_id)).items()
           if k == b"web" and d.decode() != keep]
    records = redis_client.mget([keys.session(digest) for digest in web]) if web else []
    _end(user_id, [(digest, "web") for digest, raw in zip(web, records, strict=True)
                   if raw is None or json.loads(raw).get("meta", {}).get("epoch") != epoch])


def _committed_epoch(user_id):
    """The account's epoch as committed (its own connection: the caller's session may be mid-
    commit or hold an older read)."""
    with db.engine.connect() as connection:
        return connection.execute(db.select(User.auth_epoch).where(User.id == user_id)).scalar()


def reseal_if_stale(user_id, epoch, sealed):
    """A session of `epoch` met a seal of another epoch (session_store.SAVE_LUA). When the
    database holds `epoch`, the seal is the stale one (a failover lost the newest seal, or two
    ends sealed out of order): correct it, unless it changed meanwhile; returns True then."""
    sealed = sealed.decode() if isinstance(sealed, bytes) else sealed
    if _committed_epoch(int(user_id)) != epoch:
        return False  # the session read the account before its sessions were ended: refused
    redis_client.script(RESEAL_LUA)(keys=[keys.user_epoch(user_id)], args=[sealed, epoch])
    return True


def end_others(user, current):
    """End every session and token of the user but `current` (the caller's own), audited;
    returns how many were ended. The epoch stays: the current session carries on as it is."""
    ended = _end(user.id, [(digest, kind) for digest, kind in _entries(user) if digest != current])
    audit.record("session.ended_others", user=user, detail={"count": ended})
    return ended


def list_sessions(user, current=None):
    """The user's live sessions and tokens, newest activity first; prunes dead entries."""
    index = keys.user_sessions(user.id)
    entries = [(d.decode(), k.decode()) for d, k in redis_client.hgetall(index).items()]
    if not entries:
        return []
    pipe = redis_client.pipeline(transaction=False)
    for digest, kind in entries:
        pipe.get(KIND_KEY.get(kind, keys.session)(digest))
    records = pipe.execute()
    result, dead = [], []
    for (digest, kind), raw in zip(entries, records, strict=True):
        meta = json.loads(raw).get("meta", {}) if raw else None
        if not meta or meta.get("epoch", user.auth_epoch) != user.auth_epoch or \
                str(meta.get("uid")) != str(user.id):
            dead.append(digest)
            continue
        result.append({
            "id": digest[:16], "kind": kind, "ip": meta.get("ip"),
            "device": describe_device(meta.get("ua") or "") or None,
            "created": meta.get("created"), "last_seen": meta.get("last_seen"),
            "current": digest == current, "method": meta.get("method"),
        })
    if dead:
        redis_client.hdel(index, *dead)
    result.sort(key=lambda s: -(s["last_seen"] or 0))
    for item in result:  # ISO 8601 with an offset, like every other time the service gives out
        item["created"], item["last_seen"] = unix_iso(item["created"]), unix_iso(item["last_seen"])
    return result


def end_one(user, public_id, current=None):
    """End (and audit) the session or token whose listed id is `public_id`; returns
    (its kind, whether it was the caller's own)."""
    for raw_digest, raw_kind in redis_client.hgetall(keys.user_sessions(user.id)).items():
        digest = raw_digest.decode()
        if public_id and len(public_id) >= 16 and digest.startswith(public_id):
            kind = raw_kind.decode()
            revoke(user.id, digest, kind)
            audit.record("session.ended", user=user, detail={"kind": kind})
            return kind, digest == current
    raise NotFound()
