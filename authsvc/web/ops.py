"""Operations endpoints: liveness, readiness, Prometheus metrics."""

import hmac
import os

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from sqlalchemy import text

from ..extensions import db, redis_client
from ..services import ipblocks, mail, metrics

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    checks = {}
    try:
        redis_client.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        checks["redis"] = f"error: {type(exc).__name__}"
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        db.session.rollback()
        checks["database"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if ready else "unavailable", "checks": checks}), 200 if ready else 503


@bp.get("/metrics")
def prometheus():
    # The counters are a side channel (mail sent moves only for real accounts): with a token
    # set it is required; without one, only METRICS_PUBLIC (on outside production) opens them.
    expected = current_app.config.get("METRICS_TOKEN")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if expected and not hmac.compare_digest(given.encode(), expected.encode()) \
            or not expected and not current_app.config["METRICS_PUBLIC"]:
        return jsonify({"error": {"code": "unauthorized", "message": "metrics token required"}}), 401
    try:
        metrics.MAIL_QUEUE_DEPTH.set(mail.queue_depth())
        metrics.MAIL_DEAD_LETTERS.set(mail.dead_letter_count())
        metrics.IP_BLOCKS_ACTIVE.set(ipblocks.active_count())
    except Exception:  # noqa: BLE001 - metrics must answer even when Redis does not
        pass
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    shared = CollectorRegistry()  # the figures every process and worker keeps in Redis
    shared.register(mail.RedisFigures())
    try:
        payload += generate_latest(shared)
    except Exception:  # noqa: BLE001 - metrics must answer even when Redis does not
        pass
    return Response(payload, mimetype=CONTENT_TYPE_LATEST)
