"""How the audit log reads on the admin page: events by name, details as labelled fields.

The stored rows keep the machine names (the API and the CSV export them as they are); this
module only says them in the page's language. An event or a detail key missing from the
tables shows its raw name, so a new event is never hidden.
"""

from ..i18n import lazy_gettext as _l
from ..timefmt import display_time

EVENTS = {
    "login.success": _l("Signed in"),
    "login.failure": _l("Sign-in failed"),
    "login.locked": _l("Sign-in locked after wrong passwords"),
    "login.second_factor": _l("Second sign-in step asked"),
    "reauth.locked": _l("Password confirmation refused: locked"),
    "register.requested": _l("Registration started"),
    "register.confirmed": _l("Registration completed"),
    "register.failed": _l("Registration failed"),
    "code.issued": _l("Code issued"),
    "code.verified": _l("Code used"),
    "code.failed": _l("Wrong or expired code"),
    "password.changed": _l("Password changed"),
    "password.reset": _l("Password reset"),
    "password.reset_requested": _l("Password reset asked"),
    "email.change_requested": _l("Email change asked"),
    "email.changed": _l("Email changed"),
    "email.change_undone": _l("Email change undone"),
    "email.undo_refused": _l("Email change undo refused"),
    "session.ended": _l("Session ended"),
    "notifications.changed": _l("Notification settings changed"),
    "factor.enrolled": _l("Second factor added"),
    "factor.removed": _l("Second factor removed"),
    "factor.used": _l("Second factor used"),
    "factor.failed": _l("Wrong second-factor code"),
    "recovery_codes.generated": _l("Recovery codes made"),
    "recovery_code.used": _l("Recovery code used"),
    "admin.created": _l("Admin created"),
    "admin.user_deactivated": _l("Account deactivated by an admin"),
    "admin.user_activated": _l("Account activated by an admin"),
    "admin.user_unlocked": _l("Account unlocked by an admin"),
    "admin.reset_sent": _l("Reset code sent by an admin"),
    "admin.factors_reset": _l("Second factors reset by an admin"),
    "admin.codes_cleared": _l("Pending codes cleared by an admin"),
    "invite.created": _l("Invite codes created"),
    "invite.disabled": _l("Invite code disabled"),
    "audit.pruned": _l("Old audit events deleted"),
    "ip.blocked": _l("Network blocked"),
    "ip.unblocked": _l("Network block lifted"),
}

FIELDS = {
    "purpose": _l("For"), "reason": _l("Reason"), "result": _l("Result"), "failures": _l("Failures"),
    "seconds": _l("Seconds"), "count": _l("How many"), "uses": _l("Uses per code"),
    "expires": _l("Expires on"), "expires_at": _l("Until"), "invite": _l("With an invite code"),
    "invite_id": _l("Invite code no."), "kind": _l("Kind"), "method": _l("Method"),
    "network": _l("Network"), "new_email": _l("New email"), "old": _l("Old email"),
    "promoted": _l("Existing account promoted"), "new_device": _l("New-device notices"),
    "via": _l("Via"), "step": _l("Step"), "stage": _l("Stage"), "removed": _l("Removed"),
    "remaining": _l("Left"), "recovery_codes_remaining": _l("Recovery codes left"),
    "restored": _l("Restored"), "dropped": _l("Dropped"), "deleted": _l("Deleted"),
    "cutoff": _l("Older than"), "older_than_days": _l("Kept days"), "username": _l("Username"),
    "used": _l("Used"), "id": _l("ID"), "replaced": _l("Replaced block"),
    "last_status": _l("Last refusal"), "cleared": _l("Codes cleared"),
}

VALUES = {
    "register": _l("registration"), "login": _l("sign-in"), "reset": _l("password reset"),
    "change_email": _l("email change"), "second_factor": _l("second sign-in step"),
    "unknown_user": _l("unknown login name"), "wrong_password": _l("wrong password"),
    "inactive": _l("deactivated account"), "ok": _l("right"), "wrong": _l("wrong"),
    "expired": _l("expired"), "budget": _l("too many wrong codes today"),
    "superseded": _l("a newer code was sent"), "auto": _l("automatic"), "manual": _l("by an admin"),
    "totp": _l("authenticator app"), "passkey": _l("passkey"), "password": _l("password"),
    "code": _l("emailed code"), "recovery_code": _l("recovery code"),
}
TIMES = ("expires_at", "cutoff")


def event_label(name):
    label = EVENTS.get(name)
    return str(label) if label is not None else name


def _value(key, value):
    if value is True:
        return str(_l("yes"))
    if key in TIMES and isinstance(value, str):
        try:
            return display_time(value)
        except (ValueError, TypeError):
            return value
    if isinstance(value, str) and value in VALUES:
        return str(VALUES[value])
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    return str(value)


def detail_fields(detail):
    """[(label, text)] of an event's detail: None, False and empty values are left out (they
    say nothing: 'no expiry', 'without an invite'), True reads 'yes', known words and times
    are said in the page's language."""
    fields = []
    for key, value in sorted((detail or {}).items()):
        if value is None or value is False or value == "" or value == [] or value == {}:
            continue
        label = FIELDS.get(key)
        fields.append((str(label) if label is not None else key, _value(key, value)))
    return fields
