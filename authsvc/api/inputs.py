"""Parse a JSON request body against a small field spec; types and sizes only.

What a value must look like (an email, a username, a password policy) is the services'
business; this module only guarantees they receive strings, integers or booleans of sane size.
"""

import re

from flask import request
from flask_babel import gettext as _

from ..errors import InvalidInput

DEFAULT_MAX = 256
SURROGATES = re.compile("[\ud800-\udfff]")  # unpaired halves a JSON "\ud800" escape can carry


def json_body(**spec):
    """Return {name: value} for the fields in spec: name=(type, required[, max_length]).

    A field the spec does not name is an error (400 naming it), not silently dropped.
    """
    if not request.is_json:
        raise InvalidInput(message=_("Send a JSON object with Content-Type: application/json."),
                           status=400)
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # "[[[[…" nested past the parser's recursion limit (was a 500)
        data = None
    if data is None and request.get_data(cache=True).strip() not in (b"", b"null"):
        raise InvalidInput(message=_("The request body is not valid JSON."), status=400)
    if not isinstance(data, dict):
        raise InvalidInput(message=_("The request body must be a JSON object."), status=400)
    values, errors = {}, {}
    for name in data:
        if name not in spec:  # a misspelt or foreign field would otherwise be silently lost
            errors[str(name)[:64]] = [_("Unknown field.")]
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
