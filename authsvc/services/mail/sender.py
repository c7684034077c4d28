"""Who the mail is from: the address, the display name and the Message-ID domain.

`MAIL_DEFAULT_SENDER` may be a bare address or "Name <address>"; either way the address is
taken out of it (the Message-ID domain is the address's own domain, never `qq.com>`), and the
display name is `MAIL_SENDER_NAME` (else the name written in the setting, if any).
"""

from email.utils import formataddr, parseaddr

from flask import current_app


def split(sender):
    """(display name, address) of a sender setting; ("", "") when it holds no address."""
    name, address = parseaddr(sender or "")
    return (name, address) if "@" in address else ("", "")


def from_header(sender):
    """The From of a provider whose sender setting is `sender`: (name, address) or an address."""
    name, address = split(sender)
    if not address:
        return ""
    name = current_app.config.get("MAIL_SENDER_NAME") or name
    return (name, address) if name else address


def message_id_domain(sender):
    _name, address = split(sender)
    return address.rsplit("@", 1)[1] if address else "authsvc.local"


def address():
    """The address our mail comes from (what a person adds to their contacts), or ""."""
    config = current_app.config
    return split(config.get("MAIL_DEFAULT_SENDER") or config.get("MAIL_USERNAME") or "")[1]


def display(sender):
    """The From header as text, e.g. for the "add to contacts" hint."""
    value = from_header(sender)
    return formataddr(value) if isinstance(value, tuple) else value
