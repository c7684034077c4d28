"""Queue mail jobs (request side) and compose messages from templates (worker side).

The request stores a sealed job in Redis and returns. Whether the address has an account
is decided by the worker (`account` rule), so requests for registered and unregistered
addresses do the same work and take the same time.
"""

import json
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale, get_locale, gettext as _

from .. import crypto, keys
from ..extensions import redis_client
from ..requestinfo import client_ip, describe_device, user_agent
from . import codes

NOTICE_TTL = 2 * 86400  # a notice without a secret may wait two days for delivery

# account rules, applied by the worker once it knows whether the address has an account
ALWAYS = "always"
IF_ACCOUNT = "if_account"  # send only to an active account's address (reset, code login)
IF_NO_ACCOUNT = "if_no_account"  # send; but to an account's owner send `alternate` instead


def current_language():
    locale = get_locale()
    return locale.language if locale else "zh"


def queue_mail(template, to, context, *, ttl=NOTICE_TTL, account=ALWAYS, alternate=None,
               essential=True, lang=None):
    """Seal a mail job into Redis and queue it; returns the job id."""
    now = time.time()
    job = {
        "id": uuid.uuid4().hex,
        "template": template,
        "to": to,
        "lang": lang or current_language(),
        "ctx": dict(context, ip=client_ip(), ua=user_agent(), at=now),
        "account": account,
        "alternate": alternate,
        "essential": essential,
        "queued_at": now,
        "attempt": 0,
    }
    pipe = redis_client.pipeline(transaction=True)
    pipe.set(keys.mail_job(job["id"]), crypto.seal(json.dumps(job).encode()), ex=int(ttl))
    pipe.lpush(keys.MAIL_QUEUE, job["id"])
    pipe.execute()
    return job["id"]


def send_code(purpose, to, flow=None, context=None, **options):
    """Issue a fresh code for (purpose, address[, flow]) and queue its mail; the job expires with it."""
    code = codes.issue_code(purpose, to, flow)
    ttl = keys.code_ttl(purpose)
    context = dict(context or {}, code=code, purpose=purpose, minutes=ttl // 60)
    return queue_mail("verification", to, context, ttl=ttl, **options)


# --- worker side --------------------------------------------------------------------------
SUBJECTS = {
    "verification": lambda c: _("Your verification code is: %(code)s", code=c["code"]),
    "already_registered": lambda c: _("Someone tried to register with your email address"),
    "email_in_use": lambda c: _("Someone tried to use your email address"),
    "security_alert": lambda c: ALERT_TITLES.get(c.get("kind"), ALERT_TITLES["generic"])(),
    "test": lambda c: _("Test message from %(site)s", site=c["site_name"]),
}
ALERT_TITLES = {
    "password_changed": lambda: _("Your password was changed"),
    "password_reset": lambda: _("Your password was reset"),
    "email_changed": lambda: _("Your account email was changed"),
    "lockout": lambda: _("Your account was temporarily locked"),
    "new_device": lambda: _("New sign-in to your account"),
    "deactivated": lambda: _("Your account was deactivated"),
    "generic": lambda: _("Security notice for your account"),
}
PURPOSE_TITLES = {
    "register": lambda: _("Verify your email address"),
    "login": lambda: _("Your sign-in code"),
    "reset": lambda: _("Reset your password"),
    "change_email": lambda: _("Confirm your new email address"),
    "second_factor": lambda: _("Confirm it is you signing in"),
}


def compose(job, template=None, recipient_user=None):
    """Render (subject, text, html, headers) for a job in its language."""
    config = current_app.config
    template = template or job["template"]
    lang = (recipient_user.locale if recipient_user and recipient_user.locale else None) or job["lang"]
    ctx = dict(job["ctx"])
    public_url = config["PUBLIC_URL"].rstrip("/")
    ctx.update(
        site_name=config["SITE_NAME"],
        public_url=public_url,
        domain=urlsplit(public_url).hostname or public_url,
        device=describe_device(ctx.get("ua") or ""),
        requested_at=_local_time(ctx.get("at")),
        to=job["to"],
        user=recipient_user,
    )
    headers = {}
    if not job.get("essential", True) and ctx.get("unsubscribe_url"):
        headers["List-Unsubscribe"] = f"<{ctx['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    with force_locale(lang):
        ctx["purpose_title"] = PURPOSE_TITLES[ctx["purpose"]]() if ctx.get("purpose") else ""
        subject = config["MAIL_SUBJECT_PREFIX"] + SUBJECTS[template](ctx)
        ctx["subject"] = subject
        text = render_template(f"email/{template}.txt", **ctx)
        html = render_template(f"email/{template}.html", **ctx)
    return subject, text, html, headers


def _local_time(timestamp):
    zone = ZoneInfo(current_app.config.get("DISPLAY_TIMEZONE") or "Asia/Shanghai")
    moment = datetime.fromtimestamp(timestamp or time.time(), tz=timezone.utc).astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z")
