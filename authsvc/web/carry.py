"""What a person typed survives the language switch (issue 14).

The switch is a POST carrying the page's own GET address (`next`, local only) and the
visible, harmless fields of the page's form (`carry-<name>`: never a password, code or
captcha answer). They wait in the server-side session for that one address; the form built
on its next GET takes them.
"""

from urllib.parse import urlsplit

from flask import current_app, g, request, session
from werkzeug.exceptions import HTTPException
from wtforms import BooleanField

# The only fields carried: everything else (passwords, codes, captcha answers, CSRF) is not.
CARRY_FIELDS = ("login", "email", "username", "invite_code", "new_email", "remember")
MAX_LENGTH = 254
_KEY = "carry"


def page_address():
    """The GET address of the page being shown, for the language switch to return to.

    A page shown after a failed POST lives at the same address as its GET, except for views
    that only take POSTs: those name their page in g.page_address.
    """
    if getattr(g, "page_address", None):
        return g.page_address
    if request.method == "GET":
        return request.full_path.rstrip("?")
    try:  # the same address answers a GET (often another view: GET /login and POST /login)
        current_app.url_map.bind_to_environ(request.environ).match(request.path, method="GET")
    except HTTPException:
        return ""
    return request.full_path.rstrip("?")


def typed_fields():
    """The carried fields of the form just posted (for the switch's hidden inputs)."""
    if request.method != "POST":
        return {}
    try:
        posted = request.form
    except HTTPException:  # the error page of a body too large to read
        return {}
    return {name: posted[name][:MAX_LENGTH] for name in CARRY_FIELDS if posted.get(name)}


def remember(target, form):
    """Keep the carried fields sent with a language switch for the page at `target`."""
    data = {name: form[f"carry-{name}"][:MAX_LENGTH] for name in CARRY_FIELDS if form.get(f"carry-{name}")}
    if data:
        session[_KEY] = {"path": urlsplit(target).path, "data": data}
    else:
        session.pop(_KEY, None)


def take(form_class, kwargs):
    """Initial values for a form built on a GET of the page the switch returned to."""
    carried = session.get(_KEY)
    if request.method != "GET" or not carried or carried.get("path") != request.path:
        return kwargs
    fields = {}
    for name, value in carried["data"].items():
        unbound = getattr(form_class, name, None)
        kind = getattr(unbound, "field_class", None)
        if name in CARRY_FIELDS and kind is not None:
            fields[name] = True if issubclass(kind, BooleanField) else value
    if not fields:
        return kwargs  # another form of the page (a CSRF-only button) leaves them be
    session.pop(_KEY, None)
    return {**fields, **{k: v for k, v in kwargs.items() if v is not None}}
