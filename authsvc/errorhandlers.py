"""One mapping from failures to answers: JSON on the API, pages elsewhere."""

import logging
import time

import redis
from flask import jsonify, render_template
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from .errors import RateLimited, ServiceError, Unavailable
from .extensions import db, limiter
from .requestinfo import wants_json
from .services import daily, metrics

log = logging.getLogger("authsvc.errors")

HTTP_CODES = {400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
              429: "rate_limited", 503: "unavailable"}


def error_response(error):
    """Render a ServiceError as API JSON or as an error page."""
    headers = dict(getattr(error, "headers", None) or {})
    if "retry_after" in error.extra:
        headers["Retry-After"] = str(error.extra["retry_after"])
    if wants_json():
        return jsonify({"error": error.payload()}), error.status, headers
    return render_template("errors/error.html", error=error), error.status, headers


def _http_messages():
    return {
        400: _("The request was malformed."),
        401: _("Please sign in first."),
        403: _("You do not have permission to do this."),
        404: _("The page or resource was not found."),
        405: _("This method is not allowed here."),
        413: _("The request is too large."),
        415: _("Send JSON with Content-Type: application/json."),
        500: _("Something went wrong on our side. Please try again later."),
    }


def _from_http(exc):
    if isinstance(exc, CSRFError):
        error = ServiceError(_("The form expired or was sent from another site. Please try again."))
        error.code, error.status = "csrf_failed", 400
        return error
    error = ServiceError(_http_messages().get(exc.code, exc.description))
    error.code = HTTP_CODES.get(exc.code, "error")
    error.status = exc.code
    if getattr(exc, "valid_methods", None):  # 405: say which methods are allowed (RFC 9110)
        error.headers = {"Allow": ", ".join(exc.valid_methods)}
    return error


def register_errorhandlers(app):
    @app.errorhandler(ServiceError)
    def service_error(exc):
        return error_response(exc)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc):
        metrics.RATE_LIMITED.labels("request").inc()
        daily.limited("request")
        current = limiter.current_limit
        wait = max(1, int(current.reset_at - time.time())) if current else 60
        return error_response(RateLimited(wait))

    @app.errorhandler(HTTPException)
    def http_error(exc):
        # An exception after the view (an after_request hook such as Flask-Limiter's headers,
        # or the commit) reaches Flask as a 500 wrapping it: answer it as if raised in the view.
        cause = getattr(exc, "original_exception", None)
        if isinstance(cause, redis.RedisError):
            return redis_down(cause)
        if isinstance(cause, (OperationalError, InterfaceError)):
            return database_down(cause)
        return error_response(_from_http(exc))

    @app.errorhandler(redis.RedisError)
    def redis_down(exc):
        log.error("redis unavailable: %s", exc)
        return error_response(Unavailable())

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_down(exc):
        log.error("database unavailable: %s", exc.__class__.__name__)
        db.session.rollback()
        return error_response(Unavailable())

    @app.errorhandler(DataError)
    def database_refused_value(exc):
        # A value the database cannot store (the services refuse the ones we know of).
        log.warning("database refused a value: %s", exc.__class__.__name__)
        db.session.rollback()
        error = ServiceError(_http_messages()[400])
        error.code, error.status = "invalid_input", 400
        return error_response(error)

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unexpected error")
        error = ServiceError(_http_messages()[500])
        error.code, error.status = "internal_error", 500
        return error_response(error)
