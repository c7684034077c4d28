"""Parse a JSON request body against a small field spec; types and sizes only.

What a value must look like (an email, a username, a password policy) is the services'
business; this module only guarantees they receive strings, integers or booleans of sane size.
"""

import re
from datetime import datetime

from flask import request
from flask_babel import gettext as _

from ..errors import InvalidInput

DEFAULT_MAX = 256
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
SURROGATES = re.compile("[\ud800-\udfff]")  # unpaired halves a JSON "\ud800" escape can carry


def json_body(**spec):
    """Return {name: value} for the fields in spec: name=(type, required[, max_length])."""
    if not request.is_json:
        raise InvalidInput(message=_("Send a JSON object with Content-Type: application/json."),
                           status=400)
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # "[[[[…" nested past the parser's recursion limit (was a 500)
        data = None
    if not isinstance(data, dict):
        raise InvalidInput(message=_("The request body must be a JSON object."), status=400)
    values, errors = {}, {}
    for name, rule in spec.items():
        kind, required = rule[0], rule[1]
        limit = rule[2] if len(rule) > 2 else DEFAULT_MAX
        value = data.get(name)
        if value is None or value == "":
            if required:
                errors[name] = [_("This field is required.")]
            values[name] = None
            continue
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            errors[name] = [_type_message(kind)]
            continue
        if kind is str and len(value) > limit:
            errors[name] = [_("At most %(num)d characters.", num=limit)]
            continue
        if kind is str and SURROGATES.search(value):  # "\ud800": no text can be encoded from it
            errors[name] = [_("The request was malformed.")]
            continue
        values[name] = value
    if errors:
        raise InvalidInput(errors, status=400)
    return values


def _type_message(kind):
    return {str: _("Must be a string."), int: _("Must be an integer."),
            bool: _("Must be true or false.")}.get(kind, _("Wrong type."))


def query_int(name, default, minimum=1, maximum=10_000):
    """An integer query parameter within bounds, or InvalidInput."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput({name: [_("Must be an integer.")]}, status=400) from None
    if not minimum <= value <= maximum:
        raise InvalidInput({name: [_("Must be between %(low)d and %(high)d.", low=minimum, high=maximum)]},
                           status=400)
    return value


def query_text(name, limit=254):
    """A text query parameter ("" when absent), cut to `limit` characters unless limit is None.
    Control characters are a 400: NUL above all, which PostgreSQL refuses in text (DataError)."""
    value = request.args.get(name, "")
    if CONTROL_CHARS.search(value):
        raise InvalidInput({name: [_("The request was malformed.")]}, status=400)
    return value if limit is None else value[:limit]


def checked_date(value, name):
    """A date or ISO 8601 time (or None) whose year leaves room for the time-zone and
    end-of-day arithmetic the services do: years 2 to 9998, else a 400 like any bad date
    (years 1 and 9999 overflowed datetime there and answered 500)."""
    if not value:
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or not 1 < moment.year < 9999:
        raise InvalidInput({name: [_("Use a date like 2026-01-31.")]}, status=400)
    return value
