"""Per-request hooks: request id, access log line, security headers, metrics, outage page."""

import logging
import secrets
import time

from flask import abort, current_app, g, request, session
from flask_babel import get_locale
from redis import RedisError
from sqlalchemy.exc import SQLAlchemyError

from . import redis_writes
from .errorhandlers import error_response
from .errors import IpBlocked, Unavailable, humanize_seconds
from .extensions import db, redis_client
from .requestinfo import describe_device
from .services import audit, audit_stream, ipblocks, metrics
from .timefmt import display_time
from .web.forward_auth import keep_claims_true

log = logging.getLogger("authsvc.http")


def csp(extra_form_action=(), app=None):
    """The Content-Security-Policy, written here only. form-action also governs where a form's
    answer redirects: a sign-in that sends the user back to a forward-auth protected app
    (FORWARD_AUTH_DOMAINS) needs those hosts listed, and a page whose form ends at an OIDC
    client (web/oauth.py) adds that client's redirect origin as extra_form_action."""
    sources = (*(app or current_app).config["FORWARD_AUTH"].csp_sources(), *extra_form_action)
    return ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"form-action 'self'{''.join(' ' + source for source in sources)}; "
            "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def register_hooks(app):
    default_csp = csp(app=app)  # the same for every response: built once

    @app.template_filter("datetime")
    def format_datetime(value, seconds=False):
        """Every time on a page: in DISPLAY_TIMEZONE, labelled (see timefmt.py)."""
        return display_time(value, seconds)

    @app.template_filter("duration")
    def duration(seconds):
        """'45 seconds', '15 minutes' in the page's language (a code's life, a wait)."""
        return humanize_seconds(seconds)

    @app.template_filter("device")
    def device(value):
        return describe_device(value or "") or "–"

    @app.context_processor
    def template_globals():
        locale = get_locale()
        return {"current_lang": locale.language if locale else "zh"}

    def refuse_blocked_networks():
        """A blocked client network gets 429 everywhere (no SQL; at most one Redis round trip,
        none when the session read carried the check)."""
        ipblocks.check()

    # first of the before-request hooks: a blocked client costs no limiter count, no view work
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_blocked_networks)

    @app.before_request
    def start_request():
        g.request_started = time.perf_counter()
        redis_writes.start()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else secrets.token_hex(8)
        if getattr(session, "unavailable", False):
            abort(503)

    @app.after_request
    def finish_request(response):
        elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
        metrics.REQUEST_LATENCY.labels(request.endpoint or "unknown", request.method).observe(elapsed)
        if g.get("quiet_access_log"):
            # forward-auth's yes: read by the proxy alone (no page headers needed) and logged by it
            return response
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Content-Security-Policy", default_csp)
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers["X-Request-ID"] = g.get("request_id", "")
        if g.get("retry_after") and response.status_code in (423, 429):
            headers.setdefault("Retry-After", str(g.retry_after))
        if app.config["AUTHSVC_ENV"] == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.path.startswith(("/api/", "/account", "/admin", "/login", "/register", "/reset")):
            headers.setdefault("Cache-Control", "no-store")
        log.info("%s %s %s", request.method, request.path, response.status_code,
                 extra={"http": {"method": request.method, "path": request.path,
                                 "status": response.status_code, "ms": round(elapsed * 1000, 2),
                                 "ip": request.remote_addr}})
        return response

    # Registered after the others, so it runs before them (only keep_claims_true, below, runs
    # earlier): the response headers above apply to its answer too.
    @app.after_request
    def commit_request(response):
        """One commit per request, after the view or its error handler: first the Redis writes
        the request deferred (redis_writes.py) in one round trip, with its audit rows when they
        are its only SQL (AUDIT_STREAM); then its SQL, audit rows included, in one commit."""
        writes = redis_writes.take()
        rows = g.get("audit_rows")
        opened = db.session.registry.has()
        session_ = db.session() if opened else None
        changed = bool(session_ is not None and (session_.new or session_.dirty or session_.deleted
                                                 or session_.info.get("flushed")))
        if response.status_code >= 500:  # the request did not happen: none of its writes are kept
            if opened:
                db.session.rollback()
            return response
        streamed = bool(rows) and app.config["AUDIT_STREAM"] and not changed
        if writes is not None or streamed:
            pipe = writes if writes is not None else redis_client.pipeline(transaction=False)
            if streamed:  # only audit rows: through Redis, no database round trip (audit_stream.py)
                audit_stream.publish(rows, pipe)
            try:
                redis_writes.send(pipe)
            except RedisError as exc:
                if writes is not None:  # the request's own writes failed: answer as if it had not run
                    if opened:
                        db.session.rollback()
                    g.pop("audit_rows", None)
                    log.error("request's Redis writes failed: %s", exc.__class__.__name__)
                    return _unavailable()
                log.warning("audit stream unavailable (%s): rows written to the database", exc.__class__.__name__)
                streamed = False
            if streamed:
                g.pop("audit_rows")
        if not (changed or g.get("audit_rows")):
            return response
        try:
            audit.write_pending()
            db.session.commit()
        except SQLAlchemyError as exc:
            db.session.rollback()
            log.error("commit failed: %s", exc.__class__.__name__)
            return _unavailable()
        return response

    def _unavailable():
        body, status, headers = error_response(Unavailable())
        return app.make_response((body, status, headers))

    # Runs before commit_request: the account the request loaded is still fresh (no SQL).
    app.after_request(keep_claims_true)

    # After commit_request, so it runs before it: an automatic block's audit row joins the commit.
    @app.after_request
    def count_limit_answers(response):
        """Every limit answer (a request limit, a send limit, a lockout) counts towards the
        client network's automatic block (services/ipblocks.py)."""
        if response.status_code in (423, 429):
            ipblocks.limit_hit(response.status_code)
        return response

    # Registered last, so it runs first: a blocked network's answer is never counted as a hit.
    @app.after_request
    def settle_ip_block(response):
        """A code request's network check left to the send-limit script runs here when the
        request ended before its send (ipblocks.settle); a block still turns the answer."""
        try:
            ipblocks.settle()
        except IpBlocked as blocked:
            redis_writes.take()  # nothing of a blocked request is kept
            body, status, headers = error_response(blocked)
            return app.make_response((body, status, headers))
        return response
