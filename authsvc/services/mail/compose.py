"""Compose a mail job into a message in its language: subject, text and HTML from the templates
in templates/email/, and the List-Unsubscribe headers of a non-essential notice (worker side).
"""

import time
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale, gettext as _

from ... import i18n
from ...config import support_link
from ...requestinfo import describe_device
from ...timefmt import display_time
from .. import report_view
from ..alerts import texts as alert_texts

SUBJECTS = {
    "verification": lambda c: _("Your verification code is: %(code)s", code=c["code"]),
    "already_registered": lambda c: _("Someone tried to register with your email address"),
    "email_in_use": lambda c: _("Someone tried to use your email address"),
    "security_alert": lambda c: ALERT_TITLES.get(c.get("kind"), ALERT_TITLES["generic"])(),
    "test": lambda c: _("Test message from %(site)s", site=c["site_name"]),
    "alert": lambda c: f"{alert_texts.state_word(c['state'])}: {alert_texts.summary(c['alert'], c['params'])}",
    "report": lambda c: (_("Daily report of %(site)s for %(day)s", site=c["site_name"], day=c["last"])
                         if c["kind"] == "daily" else
                         _("Weekly report of %(site)s, %(first)s to %(last)s", site=c["site_name"],
                           first=c["first"], last=c["last"])),
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
    "passkey_added": lambda: _("A passkey was added to your account"),
    "passkey_removed": lambda: _("A passkey was removed from your account"),
    "recovery_code_used": lambda: _("A recovery code was used to sign in to your account"),
    "factors_reset": lambda: _("An administrator removed the second factors of your account"),
    "generic": lambda: _("Security notice for your account"),
}
# The tag at the start of every subject says what the mail is for before it is opened.
PURPOSE_TAGS = {
    "register": lambda: _("[Sign-up code]"),
    "login": lambda: _("[Sign-in code]"),
    "second_factor": lambda: _("[Sign-in code]"),
    "reset": lambda: _("[Password reset]"),
    "change_email": lambda: _("[Email change]"),
}
SECURITY_TAG = lambda: _("[Security alert]")  # noqa: E731 — notices, and mail nobody asked for
TEMPLATE_TAGS = {"test": lambda: _("[Test]"), "alert": lambda: _("[Alert]"), "report": lambda: _("[Report]")}


def subject_tag(template, ctx):
    if template == "verification":
        return PURPOSE_TAGS[ctx["purpose"]]()
    return TEMPLATE_TAGS.get(template, SECURITY_TAG)()


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
    # A mail for a flow someone started speaks the language he used (the job's, from the page
    # or Accept-Language). The alternate that replaces it for an account's owner (nobody asked
    # him) speaks the account's stored language; notices are queued in it already.
    lang = job["lang"]
    if template != job["template"] and recipient_user is not None and recipient_user.locale:
        lang = recipient_user.locale
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
    ctx["support"] = support_link(config.get("SUPPORT_CONTACT"))
    with force_locale(lang), i18n.pinned():
        ctx["purpose_title"] = PURPOSE_TITLES[ctx["purpose"]]() if ctx.get("purpose") else ""
        if template == "security_alert":
            ctx["not_you"] = not_you(ctx, public_url)
        if template in OPERATOR_CONTEXT:  # the operators' mail: an alert, a report
            ctx.update(OPERATOR_CONTEXT[template](ctx))
        tag = subject_tag(template, ctx)
        subject = config["MAIL_SUBJECT_PREFIX"] + tag + ("" if tag.endswith("】") else " ") + SUBJECTS[template](ctx)
        ctx["subject"] = subject
        text = render_template(f"email/{template}.txt", **ctx)
        html = render_template(f"email/{template}.html", **ctx)
    return subject, text, html, headers


OPERATOR_CONTEXT = {
    "alert": lambda c: {"summary": alert_texts.summary(c["alert"], c["params"]),
                        "advice": alert_texts.advice(c["alert"]), "state_word": alert_texts.state_word(c["state"]),
                        "since": display_time(c["since"])},
    "report": report_view.context,
}


def inline_images(template, ctx):
    """[(content id, PNG bytes)] shown inside a message's HTML (the report's chart)."""
    return report_view.inline_images(ctx) if template == "report" else []


def not_you(ctx, public_url):
    """The "not you?" actions of a notice: [(label, url)], the first one the main action.

    A reset by code ends every session and token (and lifts a lock); an email change has
    its own undo link instead, since a reset code would go to the new address; a
    deactivation leaves the owner nothing to do but ask (SUPPORT_CONTACT, in the footer).
    """
    kind = ctx.get("kind")
    if kind == "deactivated":
        return []
    if kind == "email_changed":  # never a reset here: its code would go to the new address
        return [(_("Not you? Undo this change"), ctx["undo_url"])] if ctx.get("undo_url") else []
    actions = [(_("Not you? Reset your password: every session and device is signed out"),
                f"{public_url}/reset")]
    if kind == "new_device":
        actions.append((_("See and end your sessions"), f"{public_url}/account"))
    return actions


def _local_time(timestamp):
    return display_time(timestamp or time.time())
