"""Server-side browser sessions in Redis: the cookie holds only a random id.

An anonymous visitor costs no Redis write: his session holds only the CSRF token, which is
derived from the cookie's id (an HMAC under SECRET_KEY), so nothing needs storing. The record
is created when the session first holds something else (a sign-in, a language, a pending step).

The record is keyed by the id's SHA-256, expires after SESSION_IDLE_TIMEOUT without use
(REMEMBER_ME_DAYS when remembered) and is refused after SESSION_ABSOLUTE_TIMEOUT. Signed-in
sessions are indexed per user so that all of them can be listed and ended. API requests
get a session that is never stored: the API keeps no cookie state.
"""

import json
import logging
import math
import re
import secrets
import time

import redis
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from . import keys
from .crypto import keyed_hash, token_hash
from .requestinfo import client_ip, user_agent

log = logging.getLogger("authsvc.session")
SID_RE = re.compile(r"[A-Za-z0-9_-]{43}")
TOUCH_EVERY = 60  # seconds between last-seen updates of an unchanged session
NO_PAGE = ("/auth/verify", "/static/")  # a proxy's check and files: no page to say "ended elsewhere" on

# Save a signed-in session. KEYS: the record, the user's index, the account's sealed epoch
# (tokens.end_all). ARGV: record, TTL, must exist (1 for a session that was read from the
# store), session hash, index TTL, the session's epoch. Returns 0 when the record had to exist
# and did not: the session was ended (signed out, ended from the list) while this request was
# running, and must not be brought back by it. Returns {-1, seal} and writes nothing when the
# account's sessions were ended under another epoch: a sign-in racing a deactivation or a
# password change (the caller removes its record), or a seal a failover set back (the caller
# asks the database which; tokens.reseal_if_stale).
SAVE_LUA = """
local sealed = redis.call('GET', KEYS[3])
if sealed and sealed ~= ARGV[6] then return {-1, sealed} end
if ARGV[3] == '1' then
  if not redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'XX') then return 0 end
else
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
redis.call('HSET', KEYS[2], ARGV[4], 'web')
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
"""


CSRF_FIELD = "csrf_token"  # Flask-WTF's key in the session


def anonymous_csrf(sid):
    """The CSRF token of a session that is not stored: bound to the cookie's id."""
    return keyed_hash("csrf-anonymous", sid)[:40]


class RedisSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, sid=None, meta=None, persist=True, unavailable=False, stored=False):
        def on_update(session):
            session.modified = True

        if sid is None and persist:  # a new visitor: an id now, stored only once it holds something
            sid = secrets.token_urlsafe(32)
            self.cookie_set = False
        else:
            self.cookie_set = True
        if not stored and sid is not None:
            initial = {CSRF_FIELD: anonymous_csrf(sid)}
        super().__init__(initial, on_update)
        self.sid = sid
        self.stored = stored
        self.new = not stored
        self.meta = meta or {}
        self.persist = persist
        self.unavailable = unavailable
        self.modified = False
        self.rotate = False
        self.ended_elsewhere = False  # a cookie whose record was ended from elsewhere (web/ended.py)

    def regenerate(self):
        """Give the session a new id at the next save (login: no fixation)."""
        self.rotate = True
        self.modified = True

    @property
    def hash(self):
        return token_hash(self.sid) if self.sid else None


class RedisSessionInterface(SessionInterface):
    def __init__(self, client_getter):
        self._client = client_getter

    def open_session(self, app, request):
        if request.path.startswith("/api/"):
            return RedisSession(persist=False)
        sid = request.cookies.get(app.config["SESSION_COOKIE_NAME"], "")
        if not SID_RE.fullmatch(sid):
            return RedisSession()
        try:
            raw, ended = self._read(app, token_hash(sid), not request.path.startswith(NO_PAGE))
        except redis.RedisError as exc:
            log.error("session store unavailable: %s", exc)
            return RedisSession(persist=False, unavailable=True)
        if raw is None:  # never stored (an anonymous visitor), or ended (web/ended.py says so)
            fresh = RedisSession(sid=sid)
            fresh.ended_elsewhere = bool(ended)
            return fresh
        record = json.loads(raw)
        meta = record.get("meta", {})
        if time.time() - meta.get("created", 0) > self._absolute(app, meta):
            self._client(app).delete(keys.session(token_hash(sid)))
            return RedisSession()
        return RedisSession(record.get("data"), sid=sid, meta=meta, stored=True)

    def _read(self, app, sid_hash, for_a_page):
        """(record, ended-elsewhere marker) in one round trip (the marker only for a request
        that shows a page); the blocked-network check (services/ipblocks.py) rides along."""
        from .extensions import run_pipeline
        from .services import ipblocks

        pipe = self._client(app).pipeline(transaction=False)
        pipe.get(keys.session(sid_hash))
        if for_a_page:
            pipe.exists(keys.session_ended(sid_hash))
        blocked = ipblocks.queue_check(pipe)
        answers = run_pipeline(pipe) if blocked else pipe.execute()
        if blocked:
            ipblocks.checked(answers.pop())
        return answers[0], (answers[1] if for_a_page else 0)

    def save_session(self, app, session, response):
        if not session.persist:
            return
        try:
            self._save(app, session, response)
        except redis.RedisError as exc:
            log.error("session not saved: %s", exc)

    def _save(self, app, session, response):
        client = self._client(app)
        name = app.config["SESSION_COOKIE_NAME"]
        if session.stored and (session.rotate or (not session and session.modified)):
            self._drop(client, session)
            if not session:
                response.delete_cookie(name, path=self.get_cookie_path(app),
                                       domain=self.get_cookie_domain(app))
                return
        elif session.rotate:  # never stored: a new id all the same (sign-in: no fixation)
            session.sid = None
            session.meta = {k: v for k, v in session.meta.items() if k in ("remember", "method")}
        if not session:
            return
        if not session.cookie_set and response.status_code >= 400:
            # An error answer never starts a session: a refused cross-site POST arrives without
            # our cookie, and a fresh cookie on its answer would replace the signed-in one.
            return
        now = time.time()
        stored = session.stored  # read from the store: it may have been ended meanwhile
        if not stored:
            if session.sid is None:
                session.sid = secrets.token_urlsafe(32)
            elif set(session) <= {CSRF_FIELD} and session.get(CSRF_FIELD) == anonymous_csrf(session.sid):
                # holds nothing but the derived token: the cookie is all there is to keep
                if not session.cookie_set:
                    self._set_cookie(app, session, response, None)
                return
            session.meta = dict(session.meta, created=now, last_seen=0)
        if not (session.modified or session.new or session.rotate
                or now - session.meta.get("last_seen", 0) > TOUCH_EVERY):
            return
        user_id, _dot, epoch = str(session.get("_user_id") or "").partition(".")
        user_id = user_id or None
        session.meta.update(last_seen=now, ip=client_ip(), ua=user_agent(), uid=user_id,
                            epoch=epoch or None)
        remember = bool(session.meta.get("remember"))
        ttl = keys.session_ttl(remember)
        ttl = math.ceil(max(1, min(ttl, self._absolute(app, session.meta) - (now - session.meta["created"]))))
        record = json.dumps({"data": dict(session), "meta": session.meta}, default=str)
        if user_id:
            saved = self._save_signed_in(app, client, session, user_id, epoch,
                                         [record, ttl, 1 if stored else 0, session.hash, keys.user_sessions_ttl(), epoch])
        else:  # an anonymous page view (a CSRF token): one plain SET
            saved = client.set(keys.session(session.hash), record, ex=ttl, xx=stored)
        if not saved:
            # Ended (or renewed by a sign-in or password change) while this request ran: it stays
            # ended, and this answer sets no cookie, so it can't clobber the one that replaced it.
            return
        self._set_cookie(app, session, response, ttl if remember else None)
        session.rotate = False

    def _save_signed_in(self, app, client, session, user_id, epoch, args):
        """SAVE_LUA; a seal of another epoch refuses the save unless the database says the seal
        is the stale one (then it is corrected and the save tried once more)."""
        from .services import tokens

        script_keys = [keys.session(session.hash), keys.user_sessions(user_id), keys.user_epoch(user_id)]
        saved = self._save_script(app, client)(keys=script_keys, args=args)
        if isinstance(saved, list) and tokens.reseal_if_stale(user_id, epoch, saved[1]):
            saved = self._save_script(app, client)(keys=script_keys, args=args)
        if isinstance(saved, list):  # ended under another epoch while this request ran
            pipe = client.pipeline(transaction=False)
            pipe.delete(script_keys[0])
            pipe.hdel(script_keys[1], session.hash)
            pipe.execute()
            return 0
        return saved

    def _set_cookie(self, app, session, response, max_age):
        response.set_cookie(
            app.config["SESSION_COOKIE_NAME"], session.sid, max_age=max_age, httponly=True,
            secure=app.config["SESSION_COOKIE_SECURE"], samesite=app.config["SESSION_COOKIE_SAMESITE"],
            path=self.get_cookie_path(app), domain=self.get_cookie_domain(app),
        )

    @staticmethod
    def _save_script(app, client):
        script = app.extensions.get("authsvc.session.save")
        if script is None:
            script = app.extensions["authsvc.session.save"] = client.register_script(SAVE_LUA)
        return script

    def _drop(self, client, session):
        pipe = client.pipeline(transaction=False)
        pipe.delete(keys.session(session.hash))
        if session.meta.get("uid"):
            pipe.hdel(keys.user_sessions(session.meta["uid"]), session.hash)
        pipe.execute()
        session.sid, session.stored = None, False
        # what sign-in decided about the new session survives the change of id
        session.meta = {k: v for k, v in session.meta.items() if k in ("remember", "method")}

    @staticmethod
    def _absolute(app, meta):
        if meta.get("remember"):
            return app.config["REMEMBER_ME_DAYS"] * keys.DAY
        return app.config["SESSION_ABSOLUTE_TIMEOUT"]
