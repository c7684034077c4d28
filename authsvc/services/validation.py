"""Input rules shared by the HTML forms and the JSON API (written once, here)."""

import gzip
import re
import unicodedata
from functools import lru_cache
from importlib import resources

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _

from ..errors import InvalidInput

EMAIL_MAX = 254
USERNAME_RE = re.compile(r"[a-z0-9]{3,32}")
RESERVED_USERNAMES = frozenset({
    "admin", "administrator", "root", "system", "support", "security", "postmaster",
    "webmaster", "hostmaster", "abuse", "noreply", "authsvc", "api", "www", "mail",
})
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")  # NUL, CR, LF, TAB, DEL, line separators
CODE_RE = re.compile(r"\d{6}")


def has_control_chars(value):
    """CR, LF, NUL and friends: never legitimate in a one-line field, dangerous in headers."""
    return bool(CONTROL_CHARS.search(value or ""))


def normalize_email(raw, field="email"):
    """Trim, NFKC, lowercase and syntax-check an address (no DNS); raises InvalidInput."""
    if not raw or not raw.strip():
        raise InvalidInput({field: [_("Please enter your email address.")]})
    if has_control_chars(raw):
        raise InvalidInput({field: [_("The email address contains characters that are not allowed.")]},
                           status=400)
    value = unicodedata.normalize("NFKC", raw.strip()).lower()
    if len(value) > EMAIL_MAX:
        raise InvalidInput({field: [_("The email address is too long.")]})
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput({field: [_("Please enter a valid email address.")]}) from None
    return checked.normalized.lower()


def mask_email(email):
    """'a***@qq.com': enough for a person to recognise their address, no more."""
    local, _sep, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def normalize_username(raw, field="username"):
    """Lowercase and check a username: letters and digits, 3-32; raises InvalidInput."""
    value = unicodedata.normalize("NFKC", (raw or "").strip()).lower()
    if not value:
        raise InvalidInput({field: [_("Please choose a username.")]})
    if not USERNAME_RE.fullmatch(value):
        raise InvalidInput({field: [_("Usernames are 3 to 32 lowercase letters or digits.")]})
    if value in RESERVED_USERNAMES:
        raise InvalidInput({field: [_("This username is reserved. Please choose another.")]})
    return value


def normalize_login(raw, field="login"):
    """An email or a username as typed at sign-in, normalised the way it was stored."""
    value = unicodedata.normalize("NFKC", (raw or "").strip()).lower()
    if not value:
        raise InvalidInput({field: [_("Please enter your email or username.")]})
    if has_control_chars(value) or len(value) > EMAIL_MAX:
        raise InvalidInput({field: [_("Please enter a valid email or username.")]}, status=400)
    return value


def normalize_code(raw, field="code"):
    """Six digits; spaces and dashes people paste along are dropped."""
    value = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", raw or ""))
    if not CODE_RE.fullmatch(value):
        raise InvalidInput({field: [_("The code is the 6 digits from the email.")]})
    return value


def normalize_password(raw):
    """NFKC, as NIST SP 800-63B asks, so the same passphrase typed anywhere matches."""
    return unicodedata.normalize("NFKC", raw or "")


@lru_cache(maxsize=1)
def common_passwords():
    """The shipped blocklist (about 20,000 common passwords, lowercase)."""
    data = resources.files("authsvc.data").joinpath("common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


def password_problems(password, username=None, email=None):
    """Reasons a new password is refused, in the current language (empty when it is fine)."""
    config = current_app.config
    password = normalize_password(password)
    length = len(password)
    if length < config["PASSWORD_MIN_LENGTH"]:
        return [_("Use at least %(num)d characters.", num=config["PASSWORD_MIN_LENGTH"])]
    if length > config["PASSWORD_MAX_LENGTH"]:
        return [_("Use at most %(num)d characters.", num=config["PASSWORD_MAX_LENGTH"])]
    lowered = password.lower()
    if lowered in common_passwords():
        return [_("This password is too common and easy to guess. Please choose another.")]
    for part in (username, (email or "").split("@")[0]):
        if part and len(part) >= 3 and part.lower() in lowered:
            return [_("The password must not contain your username or email name.")]
    return []


def check_new_password(password, username=None, email=None, field="password"):
    """Raise InvalidInput when the password breaks the policy."""
    problems = password_problems(password, username, email)
    if problems:
        raise InvalidInput({field: problems})
    return normalize_password(password)
