"""Record security-relevant events in SQL and mirror each as one structured log line."""

import json
import logging

from flask import has_request_context

from ..extensions import db
from ..models import AuditEvent, iso, utcnow
from ..requestinfo import client_ip, user_agent

log = logging.getLogger("authsvc.audit")

# Keys that must never reach the audit log, whatever a caller passes in `detail`.
FORBIDDEN_DETAIL = ("code", "password", "token", "captcha", "secret", "answer")

EVENTS = (
    "register.requested", "register.confirmed", "register.failed",
    "code.issued", "code.verified", "code.failed",
    "login.success", "login.failure", "login.locked", "login.second_factor",
    "logout", "session.ended",
    "password.reset_requested", "password.reset", "password.changed",
    "email.change_requested", "email.changed",
    "admin.user_deactivated", "admin.user_activated", "admin.user_unlocked",
    "admin.reset_sent", "admin.created", "invite.created", "invite.disabled", "invite.used",
    "audit.pruned", "captcha.failed",
)


def record(event, outcome="success", *, user=None, email=None, actor=None, detail=None):
    """Store one audit event (time, user, actor, address, IP, user agent, outcome).

    In a request the event joins the request's one commit (hooks.py commits after the view,
    errors included); outside a request (CLI) it is committed at once.
    """
    safe = {k: v for k, v in (detail or {}).items()
            if not any(word in k.lower() for word in FORBIDDEN_DETAIL)}
    entry = AuditEvent(
        at=utcnow(), event=event, outcome=outcome,
        user_id=getattr(user, "id", user), actor_id=getattr(actor, "id", actor),
        email=email or getattr(user, "email", None),
        ip=client_ip(), user_agent=user_agent() or None, detail=safe or None,
    )
    # json.dumps escapes CR/LF, so user input can't forge a second log line.
    line = json.dumps({
        "audit": event, "outcome": outcome, "user_id": entry.user_id, "actor_id": entry.actor_id,
        "email": entry.email, "ip": entry.ip, "ua": entry.user_agent, "detail": safe,
        "at": iso(entry.at),
    }, ensure_ascii=False)
    db.session.add(entry)
    if not has_request_context():
        db.session.commit()
    log.info(line)
    return entry
