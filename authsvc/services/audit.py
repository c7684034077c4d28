"""Record security-relevant events in SQL and mirror each as one structured log line."""

import json
import logging

from flask import g, has_request_context
from sqlalchemy import insert

from ..extensions import db
from ..models import AuditEvent, iso, utcnow
from ..requestinfo import client_ip, user_agent
from . import daily

log = logging.getLogger("authsvc.audit")

# Keys that must never reach the audit log, whatever a caller passes in `detail`.
FORBIDDEN_DETAIL = ("code", "password", "token", "captcha", "secret", "answer")


def record(event, outcome="success", *, user=None, email=None, actor=None, detail=None):
    """Store one audit event (time, user, actor, address, IP, user agent, outcome).

    In a request the event joins the request's one commit (hooks.py commits after the view,
    errors included); outside a request (CLI) it is committed at once.
    """
    safe = {k: v for k, v in (detail or {}).items()
            if not any(word in k.lower() for word in FORBIDDEN_DETAIL)}
    row = {
        "at": utcnow(), "event": event, "outcome": outcome,
        "user_id": getattr(user, "id", user), "actor_id": getattr(actor, "id", actor),
        "email": email or getattr(user, "email", None),
        "ip": client_ip(), "user_agent": user_agent() or None, "detail": safe or None,
    }
    # json.dumps escapes CR/LF, so user input can't forge a second log line.
    log.info(json.dumps({
        "audit": event, "outcome": outcome, "user_id": row["user_id"], "actor_id": row["actor_id"],
        "email": row["email"], "ip": row["ip"], "ua": row["user_agent"], "detail": safe,
        "at": iso(row["at"]),
    }, ensure_ascii=False))
    if has_request_context():
        g.setdefault("audit_rows", []).append(row)
    else:
        write_pending([row])
        db.session.commit()


def write_pending(rows=None):
    """Insert the request's audit rows in one statement (plain INSERT, no ORM bookkeeping)."""
    rows = rows if rows is not None else g.pop("audit_rows", None)
    if rows:
        # the table, not the class: Core's executemany, none of the ORM's bulk bookkeeping
        db.session.connection().execute(insert(AuditEvent.__table__), rows)
        daily.count_audited(rows)  # registrations, sign-ins, lockouts, codes issued and used
    return bool(rows)
