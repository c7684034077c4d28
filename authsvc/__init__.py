"""authsvc: a self-hosted account service. create_app() builds the Flask application."""

import logging
import threading
from pathlib import Path

from flask import Flask, has_request_context, request
from flask_babel import gettext
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as settings, i18n
from .extensions import babel, csrf, db, limiter, login_manager, mail, migrate, redis_client
from .logs import configure_logging

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("zh", "en")
log = logging.getLogger("authsvc")


def create_app(config=None):
    """Build the app from the environment, with `config` (a dict) overriding it."""
    values = settings.from_environment()
    values.update(config or {})
    app = Flask(__name__, instance_path=str(values.get("INSTANCE_PATH") or ROOT / "instance"),
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.update(settings.finalise(values, app.instance_path))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.json.ensure_ascii = False  # Chinese messages stay readable for curl users
    configure_logging(app)
    if app.config["PROXY_FIX_X_FOR"] > 0:
        hops = app.config["PROXY_FIX_X_FOR"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
    register_extensions(app)
    register_blueprints(app)
    from .errorhandlers import register_errorhandlers
    from .hooks import register_hooks

    register_errorhandlers(app)
    register_hooks(app)
    register_commands(app)
    register_mail_worker(app)
    if not app.config["CAPTCHA_ENABLED"]:
        log.warning("CAPTCHA_ENABLED=false: code sends are protected by rate limits only")
    return app


def select_locale():
    """The `lang` cookie (language switch), else Accept-Language, else Chinese."""
    if not has_request_context():
        return "zh"  # CLI and the mail worker: each mail job carries its own language
    chosen = request.cookies.get("lang")
    if chosen in LANGUAGES and not request.path.startswith("/api/"):
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "zh"


def register_extensions(app):
    from .session_store import RedisSessionInterface
    from .web.auth_helpers import load_user

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    redis_client.init_app(app)
    app.session_interface = RedisSessionInterface(lambda a: a.extensions["authsvc.redis"])
    csrf.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(ROOT / "authsvc" / "translations"))
    i18n.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    # translated when flashed (a lazy string can't be stored in the session)
    login_manager.login_message = "Please sign in first."
    login_manager.localize_callback = gettext
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # the server-side session is the protection


def _sqlite_pragmas(connection, _record):
    """WAL lets readers and one writer work at once; NORMAL syncs at checkpoints, not at every
    commit (a crash keeps the database consistent and may lose only the last commits)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def register_blueprints(app):
    from .api import bp as api_bp
    from .services.oidc import server as oidc_server
    from .web import (account, admin, admin_apps, auth, dev, ended, factors, forward_auth, main, oauth, ops,
                      passkeys, recovery, register, summary, undo)

    for blueprint in (main.bp, summary.bp, ended.bp, register.bp, auth.bp, recovery.bp, account.bp,
                      factors.bp, passkeys.bp, undo.bp, admin.bp, admin_apps.bp, ops.bp, forward_auth.bp,
                      oauth.bp, api_bp):
        app.register_blueprint(blueprint)
    oidc_server.init_app(app)
    csrf.exempt(api_bp)  # bearer tokens, no cookies: nothing for a forged request to ride on
    if app.config["AUTHSVC_ENV"] == settings.DEVELOPMENT:
        app.register_blueprint(dev.bp)


def register_commands(app):
    from .cli import register

    register(app)


def register_mail_worker(app):
    """MAIL_WORKER=embedded: one delivery thread per web process, started on first request."""
    if app.config["MAIL_WORKER"] != "embedded" or app.config["TESTING"]:
        return
    lock = threading.Lock()

    @app.before_request
    def ensure_mail_worker():
        if "authsvc.mail_worker" in app.extensions:
            return
        with lock:
            if "authsvc.mail_worker" not in app.extensions:
                from .services.mail import start_embedded

                start_embedded(app)
