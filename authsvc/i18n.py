"""Translation lookups cached per request and locale.

Flask-Babel finds the catalogue again for every string (three context look-ups, the locale's
name, the domain cache): about 30 µs a string, some 15 % of rendering the sign-in page. Here it
is found once per request and locale; a `force_locale()` block (mail in the recipient's
language) sets another locale object, which misses the cache, so it still gets its own language.
"""

from contextlib import contextmanager

from flask import g, has_app_context
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString


def translations():
    """The catalogue for the current locale, looked up once per request and locale."""
    if not has_app_context():
        return get_translations()
    pinned = g.get("_i18n_pinned")
    if pinned is not None:
        return pinned
    locale = get_locale()
    cached = g.get("_i18n_translations")
    if cached is None or cached[0] is not locale:
        cached = g._i18n_translations = (locale, get_translations())
    return cached[1]


@contextmanager
def pinned():
    """Inside force_locale(): the current locale's catalogue for every string until the block
    ends, looked up once (a mail in its recipient's language has some 20 strings; the worker
    has no request to cache it in)."""
    previous = g.get("_i18n_pinned")
    g._i18n_pinned = get_translations()
    try:
        yield
    finally:
        g._i18n_pinned = previous


def gettext(string, **variables):
    """Translate `string` and fill in `variables`, like flask_babel.gettext."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string, **variables):
    """A string translated each time it is used, in the language of that moment."""
    return LazyString(gettext, string, **variables)


def init_app(app):
    """Point the templates' _(), gettext and ngettext at the cached catalogue."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
