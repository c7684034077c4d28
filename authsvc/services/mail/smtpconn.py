"""SMTP connections a worker thread keeps open between the messages it sends.

A new connection per message costs a TCP connect, EHLO and QUIT, and with QQ Mail's SSL on 465
a TLS handshake and AUTH as well. A kept connection is checked with NOOP before it is used
again, so one the server has dropped is replaced before any part of a message goes out.
"""

import smtplib
import ssl
import threading
import time

from flask import current_app
from flask_mail import Connection

from ...extensions import mail

IDLE_SECONDS = 30  # idle longer than this and we reconnect rather than ask with NOOP
_local = threading.local()


def _kept():
    if not hasattr(_local, "hosts"):
        _local.hosts = {}
    return _local.hosts


def checkout(provider, connect):
    """An answering connection to `provider`: this thread's kept one if NOOP works, else connect()."""
    host, last_used = _kept().pop(provider, (None, 0.0))
    if host is not None:
        if time.monotonic() - last_used < IDLE_SECONDS:
            try:
                if host.noop()[0] == 250:
                    return host
            except (smtplib.SMTPException, OSError):
                pass
        host.close()
    return connect()


def keep(provider, host):
    """Keep `host` open for this thread's next message through the same provider."""
    _kept()[provider] = (host, time.monotonic())


def close_idle():
    """QUIT this thread's connections idle for IDLE_SECONDS (the worker's housekeeping), so an
    idle worker holds no connection the server is about to drop."""
    kept, now = _kept(), time.monotonic()
    for provider, (host, last_used) in list(kept.items()):
        if now - last_used >= IDLE_SECONDS:
            del kept[provider]
            _quit(host)


def close_all():
    """QUIT every connection this thread keeps (end of a batch, end of the worker loop)."""
    kept = _kept()
    while kept:
        _provider, (host, _last_used) = kept.popitem()
        _quit(host)


def _quit(host):
    try:
        host.quit()
    except (smtplib.SMTPException, OSError):
        host.close()


class TimedConnection(Connection):
    """Flask-Mail's connection with a socket timeout, so a hung server can't stall a worker."""

    def __init__(self, state, timeout):
        super().__init__(state)
        self.timeout = timeout

    def configure_host(self):
        cls = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        extra = {"context": ssl.create_default_context()} if self.mail.use_ssl else {}
        host = cls(self.mail.server, self.mail.port, timeout=self.timeout, **extra)
        if self.mail.use_tls:
            host.starttls(context=ssl.create_default_context())
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def connect(provider):
    """A new SMTP connection to the provider: TLS and AUTH as configured, with MAIL_TIMEOUT."""
    state = mail.init_mail({
        "MAIL_SERVER": provider.server, "MAIL_PORT": provider.port,
        "MAIL_USE_SSL": provider.use_ssl, "MAIL_USE_TLS": provider.use_tls,
        "MAIL_USERNAME": provider.username, "MAIL_PASSWORD": provider.password,
        "MAIL_DEFAULT_SENDER": provider.sender, "MAIL_SUPPRESS_SEND": False,
    })
    return TimedConnection(state, current_app.config["MAIL_TIMEOUT"]).configure_host()
