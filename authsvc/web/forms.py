"""WTForms for CSRF, rendering and the confirm-field check only.

Every rule about the values themselves lives in services/validation.py and reaches the
form through apply_error(), so the HTML and the JSON API can never disagree.
"""

from functools import lru_cache

from babel import support
from flask_babel import get_locale
from flask_wtf import FlaskForm as _FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, EmailField, HiddenField, IntegerField, PasswordField, StringField
from wtforms.i18n import messages_path
from wtforms.widgets import HiddenInput
from wtforms.validators import EqualTo, Optional

from ..i18n import lazy_gettext as _l
from . import carry
from .widgets import render_input

REQUIRED = {"required": True}


@lru_cache(maxsize=8)
def _wtforms_translations(locale):
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class FlaskForm(_FlaskForm):
    """Flask-WTF's form, with WTForms' own messages translated from a catalog loaded once per
    language (Flask-WTF parses the catalog again on every request: about 1.5 ms a page), and
    the fields a language switch carried over (web/carry.py) as its initial values."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **carry.take(type(self), kwargs))

    def hidden_tag(self, *fields):
        """The hidden fields without an id: a page with several forms (the account page, a code
        page with its resend button) would otherwise repeat id="csrf_token"; no label points
        at a hidden field, so the id serves nothing."""
        chosen = [getattr(self, f, None) if isinstance(f, str) else f for f in (fields or self)]
        return Markup("\n".join(str(f(id=False)) for f in chosen
                                 if f is not None and isinstance(f.widget, HiddenInput)))

    class Meta(_FlaskForm.Meta):
        def get_translations(self, form):
            return _wtforms_translations(str(get_locale() or "zh"))

        def render_field(self, field, render_kw):
            return render_input(field, render_kw) or super().render_field(field, render_kw)


def _password(label, autocomplete):
    return PasswordField(label, render_kw={**REQUIRED, "autocomplete": autocomplete})


def _code():
    return StringField(_l("Verification code"), render_kw={
        **REQUIRED, "inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 7,
        "pattern": r"\d{6}", "placeholder": "000000"})


def _captcha():
    return StringField(_l("Characters in the picture"), render_kw={
        "autocomplete": "off", "maxlength": 8, "autocapitalize": "characters", "spellcheck": "false"})


def _captcha_pow():
    """The solved proof of work: the <altcha-widget> adds this input itself (never rendered
    by us, except to keep a solved captcha after a 429)."""
    return StringField()


def _confirm(target):
    return PasswordField(_l("Repeat password"), validators=[
        EqualTo(target, message=_l("The two passwords do not match."))],
        render_kw={**REQUIRED, "autocomplete": "new-password"})


class RegisterForm(FlaskForm):
    email = EmailField(_l("Email"), render_kw={**REQUIRED, "autocomplete": "email", "maxlength": 254})
    username = StringField(_l("Username"), render_kw={
        **REQUIRED, "autocomplete": "username", "maxlength": 32, "pattern": "[a-z0-9]{3,32}",
        "autocapitalize": "none"})
    password = _password(_l("Password"), "new-password")
    confirm = _confirm("password")
    invite_code = StringField(_l("Invite code"), render_kw={"autocomplete": "off", "maxlength": 64})
    captcha = _captcha()
    captcha_pow = _captcha_pow()


class CodeForm(FlaskForm):
    code = _code()


class AppCodeForm(FlaskForm):
    code = StringField(_l("Code from your authenticator app"), render_kw={
        **REQUIRED, "inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 7,
        "pattern": r"\d{6}", "placeholder": "000000"})


class RecoveryCodeForm(FlaskForm):
    recovery_code = StringField(_l("Recovery code"), render_kw={
        **REQUIRED, "autocomplete": "off", "maxlength": 16, "autocapitalize": "none",
        "spellcheck": "false", "placeholder": "xxxxx-xxxxx"})


class OwnFactorForm(FlaskForm):
    """An admin's own app code, for actions that need his second factor proven just now."""
    totp = StringField(_l("Code from your own authenticator app"), render_kw={
        "inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 7, "pattern": r"\d{6}",
        "placeholder": "000000"})


class PasskeyAnswerForm(FlaskForm):
    """What static/js/passkeys.js posts: the browser's credential as JSON."""

    credential = HiddenField()


class PasskeySignInForm(PasskeyAnswerForm):
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()


class PasskeyNameForm(PasskeyAnswerForm):
    name = StringField(_l("Name"), render_kw={**REQUIRED, "maxlength": 64, "autocomplete": "off"})


class EmptyForm(FlaskForm):
    """A button that changes state: the form exists for its CSRF token."""


class LoginForm(FlaskForm):
    # "webauthn": the browser's autofill offers this site's passkeys too (conditional UI)
    login = StringField(_l("Email or username"), render_kw={
        **REQUIRED, "autocomplete": "username webauthn", "maxlength": 254, "autocapitalize": "none"})
    password = _password(_l("Password"), "current-password")
    remember = BooleanField(_l("Keep me signed in on this device"))
    captcha = _captcha()
    captcha_pow = _captcha_pow()
    next = HiddenField()


class EmailCaptchaForm(FlaskForm):
    email = EmailField(_l("Email"), render_kw={**REQUIRED, "autocomplete": "email", "maxlength": 254})
    captcha = _captcha()
    captcha_pow = _captcha_pow()


class ResetForm(FlaskForm):
    code = _code()
    new_password = _password(_l("New password"), "new-password")
    confirm = _confirm("new_password")


class ChangePasswordForm(FlaskForm):
    current_password = _password(_l("Current password"), "current-password")
    new_password = _password(_l("New password"), "new-password")
    confirm = _confirm("new_password")


class ChangeEmailForm(FlaskForm):
    password = _password(_l("Current password"), "current-password")
    new_email = EmailField(_l("New email"), render_kw={**REQUIRED, "autocomplete": "email", "maxlength": 254})


class ReauthForm(FlaskForm):
    password = _password(_l("Password"), "current-password")
    next = HiddenField()


class InviteForm(FlaskForm):
    count = IntegerField(_l("How many codes"), default=1, render_kw={"min": 1, "max": 500})
    uses = IntegerField(_l("Uses per code"), default=1, render_kw={"min": 1})
    expires = StringField(_l("Expires on (optional)"), validators=[Optional()],
                          render_kw={"type": "date"})
    code = StringField(_l("Choose the code yourself (optional)"), validators=[Optional()],
                       render_kw={"maxlength": 64})


class IpBlockForm(FlaskForm):
    network = StringField(_l("Address or network"), render_kw={
        **REQUIRED, "maxlength": 64, "placeholder": "203.0.113.0/24", "autocapitalize": "none", "spellcheck": "false"})
    reason = StringField(_l("Reason"), render_kw={**REQUIRED, "maxlength": 200})
    hours = IntegerField(_l("For how many hours"), default=24, render_kw={"min": 1, "max": 8760})
    confirm = BooleanField(_l("Yes, block it although it holds my own address"))
