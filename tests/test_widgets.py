"""The cached <input> rendering (web/widgets.py) must produce what WTForms itself would."""

import inspect
from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import MultiDict
from wtforms.meta import DefaultMeta

from authsvc.web import forms

FORMS = [cls for _, cls in inspect.getmembers(forms, inspect.isclass)
         if issubclass(cls, forms.FlaskForm) and cls is not forms.FlaskForm]
HOSTILE = '"><script>alert(1)</script>&amp;\''


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, sorted(attrs)))


def _parsed(markup):
    parser = _Tags()
    parser.feed(str(markup))
    return parser.tags


def _submitted(form_class):
    values = MultiDict()
    for name, unbound in vars(form_class).items():
        if hasattr(unbound, "field_class"):
            values[name] = "y" if unbound.field_class.__name__ == "BooleanField" else HOSTILE
    return values


@pytest.mark.parametrize("form_class", FORMS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("submitted", [False, True], ids=["blank", "hostile-input"])
def test_every_field_renders_as_wtforms_would(app, form_class, submitted):
    with app.test_request_context("/", method="POST" if submitted else "GET",
                                  data=_submitted(form_class) if submitted else None):
        form = form_class(meta={"csrf": True})
        rendered = 0
        for field in form:
            for extra in ({}, {"aria-invalid": "true", "aria-describedby": f"{field.id}-errors"}):
                ours = field(**extra)
                theirs = DefaultMeta().render_field(field, extra)
                assert _parsed(ours) == _parsed(theirs), field.name
                assert "<script>" not in str(ours)
                rendered += 1
        assert rendered >= 2


def test_value_is_escaped_and_password_never_echoed(app):
    data = MultiDict({"login": HOSTILE, "password": "secret-Password-1", "remember": "y"})
    with app.test_request_context("/login", method="POST", data=data):
        form = forms.LoginForm(meta={"csrf": False})
        login, password, remember = str(form.login()), str(form.password()), str(form.remember())
    assert "<script>" not in login and "&lt;script&gt;" in login
    assert "secret-Password-1" not in password and 'value=""' in password
    assert " checked" in remember
