"""Compose a mail job into a message in its language: subject, text and HTML from the templates
in templates/email/, and the List-Unsubscribe headers of a non-essential notice (worker side).
"""

import time
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale, gettext as _

from ...requestinfo import describe_device
from ...timefmt import display_time

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
    "factor_added": lambda: _("An authenticator app was added to your account"),
    "factor_removed": lambda: _("The authenticator app was removed from your account"),
    "recovery_code_used": lambda: _("A recovery code was used to sign in to your account"),
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
    return display_time(timestamp or time.time())
