"""Parse a JSON request body with the endpoint's model (schemas.py); query parameters.

What a value must look like (an email, a username, a password policy) is the services'
business; this module only guarantees they receive strings, integers or booleans of sane size,
and that a malformed request answers 400 in the one error shape, in zh-CN or en.
"""

import re
from functools import wraps

from flask import request
from flask_babel import gettext as _
from pydantic import ValidationError

from ..errors import InvalidInput

SURROGATES = re.compile("[\ud800-\udfff]")  # unpaired halves a JSON "\ud800" escape can carry


def accepts(model):
    """Declare a view's request body: parsed with `model` and passed in as `body`.

    The OpenAPI document reads the same model from the view (`view.body_model`).
    """
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            return view(*args, body=parse_body(model), **kwargs)
        wrapper.body_model = model
        return wrapper
    return decorate


def parse_body(model):
    """The request's JSON object validated by `model`, or InvalidInput (400) naming each field."""
    data = _json_object()
    present = {k: v for k, v in data.items() if v is not None and v != ""}
    try:
        body = model.model_validate(present)
    except ValidationError as exc:
        raise InvalidInput(_fields(exc), status=400) from None
    bad = [name for name, value in body if isinstance(value, str) and SURROGATES.search(value)]
    if bad:  # "\ud800": no text can be encoded from it
        raise InvalidInput({name: [_("The request was malformed.")] for name in bad}, status=400)
    return body


def _json_object():
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
    return data


def _fields(exc):
    """pydantic's errors as our {field: [message]} map, in the request's language."""
    fields = {}
    for error in exc.errors(include_url=False, include_input=False):
        name = str(error["loc"][0])[:64] if error["loc"] else "body"
        fields.setdefault(name, []).append(_message(error))
    return fields


def _message(error):
    kind = error["type"]
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":  # a misspelt or foreign field would otherwise be lost
        return _("Unknown field.")
    if kind == "string_too_long":
        return _("At most %(num)d characters.", num=error["ctx"]["max_length"])
    if kind == "string_type":
        return _("Must be a string.")
    if kind.startswith("int"):
        return _("Must be an integer.")
    if kind.startswith("bool"):
        return _("Must be true or false.")
    return _("Wrong type.")


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
