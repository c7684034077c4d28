"""SMTP connections a worker thread keeps open between the messages it sends.

A new connection per message costs a TCP connect, EHLO and QUIT, and with QQ Mail's SSL on 465
a TLS handshake and AUTH as well. A kept connection is checked with NOOP before it is used
again, so one the server has dropped is replaced before any part of a message goes out.
"""

import smtplib
import threading
import time

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
