"""Development only: the outbox of mail that would have been sent (no SMTP configured)."""

import email
import email.policy
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template

bp = Blueprint("dev", __name__, url_prefix="/dev")


def _outbox():
    return Path(current_app.instance_path) / "outbox"


def _read(path):
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return {
        "name": path.name, "to": message["To"], "subject": message["Subject"],
        "date": message["Date"], "text": text.get_content() if text else "",
        "html": html.get_content() if html else "",
    }


@bp.get("/outbox")
def outbox():
    files = sorted(_outbox().glob("*.eml"), reverse=True)[:100] if _outbox().exists() else []
    return render_template("dev/outbox.html", messages=[_read(p) for p in files])


@bp.get("/outbox/<name>")
def outbox_message(name):
    path = _outbox() / name
    if "/" in name or not name.endswith(".eml") or not path.is_file():
        abort(404)
    return render_template("dev/message.html", message=_read(path))
