"""Anonymous pages rendered once (issue 16): the sign-in, registration, reset and code pages an
unsigned visitor first GETs are the same for everyone who speaks the same language, but for the
CSRF token. Such a page is rendered once per process with a placeholder where the token goes,
and later visitors get that text with their own token put in: no form built, no template run.

Only a plain first visit is served this way: a GET without a query string, nobody signed in,
nothing in the session but its derived CSRF token (no flashed message, no carried field, no
pending step), a 200 answer. Anything else renders as usual. `vary` names what else changes
the page (the sign-in page's captcha, shown after failures from the client's network). The
texts are kept per (path, language, script root, vary): a handful per process.
"""

import secrets
from functools import wraps

from flask import current_app, g, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ..session_store import CSRF_FIELD

# hex only: the same text after HTML escaping, in attributes and in text alike
PLACEHOLDER = "csrf" + secrets.token_hex(16)
LIMIT = 64  # entries per process; a full cache renders as usual (never grows past this)


def anonymous_page(vary=lambda: None):
    """Decorate a page view (GET, or GET and POST): its plain first visits come from the cache."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not _plain_visit():
                return view(*args, **kwargs)
            pages = current_app.extensions.setdefault("authsvc.page_cache", {})
            key = (request.path, str(get_locale()), request.script_root, vary())
            text = pages.get(key)
            if text is None:
                setattr(g, CSRF_FIELD, PLACEHOLDER)  # what generate_csrf() hands every form now
                try:
                    answer = view(*args, **kwargs)
                finally:
                    delattr(g, CSRF_FIELD)
                text = answer[0] if isinstance(answer, tuple) and answer[1:] == (200,) else answer
                if not isinstance(text, str) or PLACEHOLDER not in text:
                    return _with_token(answer)  # a redirect, a status of its own: not kept
                if len(pages) < LIMIT:
                    pages[key] = text
            return _with_token(text)

        return wrapper

    return decorate


def _plain_visit():
    return (request.method == "GET" and not request.query_string and set(session) <= {CSRF_FIELD}
            and not current_user.is_authenticated)


def _with_token(answer):
    if isinstance(answer, str):
        return answer.replace(PLACEHOLDER, generate_csrf())
    if isinstance(answer, tuple) and answer and isinstance(answer[0], str):
        return (answer[0].replace(PLACEHOLDER, generate_csrf()), *answer[1:])
    return answer
