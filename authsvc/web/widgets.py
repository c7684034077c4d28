"""Faster rendering of the plain <input> fields our forms use.

WTForms builds every attribute of every input anew on each page (sorting, escaping and
Markup.format per attribute): a third of the CPU of rendering GET /login. The attributes
that do not depend on the submitted value are the same on every page, so they are built
once by WTForms' own html_params and kept; only value and checked are added per render.
"""

from markupsafe import Markup, escape
from wtforms.widgets import CheckboxInput, Input, PasswordInput, html_params
from wtforms.widgets.core import clean_key

_STATIC = {}


def render_input(field, render_kw):
    """Render an <input> field like WTForms would; None for any other kind of widget."""
    widget = field.widget
    if not isinstance(widget, Input) or getattr(field, "_datalist", None) is not None:
        return None
    attrs = dict(field.render_kw or (), **render_kw)
    value = attrs.pop("value", None)
    checked = attrs.pop("checked", None)
    flags = tuple(sorted((k, v) for k, v in vars(field.flags).items() if k in widget.validation_attrs))
    try:
        key = (type(widget), widget.input_type, field.id, field.name, tuple(sorted(attrs.items())), flags)
        static = _STATIC.get(key)
    except TypeError:  # an unhashable attribute value: no caching for this one
        key, static = None, None
    if static is None:
        params = {clean_key(k): v for k, v in attrs.items()}
        params.setdefault("id", field.id)
        params.setdefault("type", widget.input_type)
        for name, flag in flags:
            params.setdefault(name, flag() if callable(flag) else flag)
        static = html_params(name=field.name, **params)
        if key is not None and len(_STATIC) < 1024:
            _STATIC[key] = static
    if value is None:
        hidden = isinstance(widget, PasswordInput) and widget.hide_value
        value = "" if hidden else field._value()
    if checked is None and isinstance(widget, CheckboxInput):
        checked = bool(getattr(field, "checked", field.data))
    html = f'<input {static} value="{escape(value)}"' + (" checked" if checked else "") + ">"
    return Markup(html)
