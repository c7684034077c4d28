"""The error summary above a form (WCAG 3.3.1/3.3.3): what went wrong, and a link to each field
it concerns.

A form-level error (wrong password or code, captcha, a limit, the lock) is flashed as before
(apply_error), and the field it concerns is noted here; base.html then shows the flashed errors
in one box that takes focus on load (app.js), with a link to every field that has an error, and
the field macro marks those fields aria-invalid and describes them by the message. An error
flashed before a redirect shows in the same box, without links (its form is on another page).
"""

from flask import Blueprint, g

from ..services import captcha

bp = Blueprint("summary", __name__)

# The form field that a form-level error is about, by error code: the first one the form has.
# A limit (rate_limited) concerns the whole form: its first visible field.
CONCERNS = {
    "invalid_credentials": ("password", "current_password"),
    "account_locked": ("password", "current_password"),
    "captcha_required": ("captcha",),
    "captcha_invalid": ("captcha",),
    "invalid_code": ("code", "recovery_code"),
    "code_expired": ("code", "recovery_code"),
}
HIDDEN_TYPES = ("HiddenField", "CSRFTokenField")


def note(form, error):
    """Remember which field of `form` the form-level `error` concerns (if it has one)."""
    if form is None:
        return
    names = CONCERNS.get(error.code)
    if names is None and error.code != "rate_limited":
        return
    if names == ("captcha",) and not captcha.wants_image():
        return  # CAPTCHA_MODE=pow: the form has the field but the page shows no picture to link
    visible = [f for f in form if f.type not in HIDDEN_TYPES]
    chosen = next((f for f in visible if f.name in (names or ())), None)
    if chosen is None and names is None and visible:
        chosen = visible[0]
    if chosen is not None and chosen.id not in g.setdefault("error_fields", []):
        g.error_fields.append(chosen.id)


@bp.app_template_global("tied_to_form_error")  # a global: the imported field macros see it
def tied(field):
    """Whether a form-level message on this page concerns `field`."""
    return field.id in g.get("error_fields", ())


@bp.app_template_global()
def error_summary(messages, form=None):
    """{"messages": [...], "fields": [field, ...]} for the page, or None when nothing is wrong."""
    errors = [message for category, message in messages if category == "error"]
    fields = []
    if form is not None and hasattr(form, "_fields"):
        fields = [f for f in form if f.type not in HIDDEN_TYPES and (f.errors or tied(f))]
    if not errors and not fields:
        return None
    return {"messages": errors, "fields": fields}
