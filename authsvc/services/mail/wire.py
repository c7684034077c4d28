"""How a message is written out as the bytes that go to the SMTP server.

Flask-Mail builds its headers as compat32 strings and then switches the message to
email.policy.SMTP, which parses every header again on output (3 ms a message, about 40 % of
the CPU of delivering it) and, unable to fold a long List-Unsubscribe URL, writes it as an
RFC 2047 encoded-word, which List-Unsubscribe readers (RFC 2369) do not decode. Here the
headers are written as they were built, by the compat32 generator; the usual mail (text and
HTML) is written directly, the same bytes in a fifth of the CPU.
"""

import re
import secrets
import time
from email.charset import Charset
from email.header import Header
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import formatdate, parseaddr
from functools import lru_cache

from flask_mail import Message, sanitize_address


class WirePolicy(Compat32):
    """compat32 with CRLF; a plain ASCII header that fits on its line, or has no space to fold
    at (a URL in angle brackets), is written as it is instead of through email.header."""

    def _fold(self, name, value, sanitize):
        if (isinstance(value, str) and value.isascii() and "\r" not in value and "\n" not in value
                and (len(name) + 2 + len(value) <= self.max_line_length or " " not in value.strip())):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


WIRE_POLICY = WirePolicy(linesep="\r\n")


class _Encoded:
    """A header value already encoded and folded by email.header: written as it is."""

    def __init__(self, text):
        self.text = text

    def encode(self, linesep="\r\n", maxlinelen=None):
        return self.text


def encoded_subject(subject, charset="utf-8"):
    """The subject as RFC 2047 encoded-words of at most 75 characters, folded between them."""
    if subject.isascii():
        return subject
    header = Header(subject, charset, header_name="Subject")
    return _Encoded(header.encode(linesep=WIRE_POLICY.linesep, maxlinelen=76))


class WireMessage(Message):
    """Flask-Mail's message, built and written out here with WIRE_POLICY.

    The same parts and headers as Flask-Mail's (multipart/mixed around multipart/alternative:
    text, HTML), built once: Flask-Mail's own building encoded the subject and parsed each
    address twice (header and envelope) and asked DNS for this host's name for a Message-ID
    that is replaced anyway. A non-ASCII subject is encoded in chunks and folded between
    them. Multipart boundaries are random 128-bit tokens set in advance: the generator would
    otherwise compile a regular expression per part to check its own boundary against the
    text. Images the HTML shows (`related`: [(content id, PNG bytes)]) travel beside it in a
    multipart/related part (RFC 2387), referred to as cid:<content id>.
    """

    related = ()

    def __init__(self, subject, recipients, body, html, sender, extra_headers=None, msg_id=None, charset="utf-8"):
        # not Message.__init__: its Message-ID costs a DNS lookup (socket.getfqdn) per message
        self.subject, self.recipients, self.sender = subject, list(recipients), sender
        self.reply_to, self.cc, self.bcc, self.attachments = None, [], [], []
        self.body, self.alts, self.date, self.msgId = body, {}, None, msg_id
        self.html = html
        self.charset, self.extra_headers = charset, extra_headers or {}
        self.mail_options, self.rcpt_options = [], []

    def envelope(self):
        """(MAIL FROM address, [RCPT TO addresses]) as Flask-Mail's Connection.send gives them."""
        return _envelope_from(self.sender), [address(to, self.charset) for to in self.recipients]

    def _message(self):
        charset = self.charset or "utf-8"
        alternative = MIMEMultipart("alternative", boundary=_boundary())
        alternative.attach(MIMEText(self.body, "plain", charset))
        if self.html is not None:
            html = MIMEText(self.html, "html", charset)
            alternative.attach(self._with_related(html) if self.related else html)
        message = MIMEMultipart(boundary=_boundary())
        message.attach(alternative)
        message["From"] = address(self.sender, charset)
        message["To"] = ", ".join(dict.fromkeys(address(to, charset) for to in self.recipients))
        message["Date"] = formatdate(self.date or time.time(), localtime=True)
        message["Message-ID"] = self.msgId
        for name, value in self.extra_headers.items():
            message[name] = value
        if self.subject:
            message["Subject"] = encoded_subject(str(self.subject), charset)
        return message

    def _with_related(self, html):
        related = MIMEMultipart("related", boundary=_boundary())
        related.attach(html)
        for cid, data in self.related:
            image = MIMEImage(data, "png")
            image.add_header("Content-ID", f"<{cid}>")
            image.add_header("Content-Disposition", "inline", filename=f"{cid.split('@')[0]}.png")
            related.attach(image)
        return related

    def as_bytes(self):
        if self.related or self.html is None or Charset(self.charset or "utf-8").body_encoding is not None:
            return self._generated()
        return self._written()

    def _generated(self):
        """Any message, written by the email package's generator (the report with its chart)."""
        message = self._message()
        message.policy = WIRE_POLICY
        return message.as_bytes(policy=WIRE_POLICY)

    def _written(self):
        """The usual mail (text and HTML, 8-bit bodies) written directly: the parts, headers
        and line endings the email package's generator writes for _message(), a fifth of the
        CPU of it (tests/test_mail_batch.py compares them)."""
        charset, nl = self.charset or "utf-8", WIRE_POLICY.linesep
        outer, inner = _boundary(), _boundary()
        fold = WIRE_POLICY.fold
        headers = [f'Content-Type: multipart/mixed; boundary="{outer}"{nl}', f"MIME-Version: 1.0{nl}",
                   fold("From", address(self.sender, charset)),
                   fold("To", ", ".join(dict.fromkeys(address(to, charset) for to in self.recipients))),
                   fold("Date", formatdate(self.date or time.time(), localtime=True)),
                   fold("Message-ID", self.msgId)]
        headers += [fold(name, value) for name, value in self.extra_headers.items()]
        if self.subject:
            headers.append(fold("Subject", encoded_subject(str(self.subject), charset)))
        text = "".join((
            *headers, nl,
            f"--{outer}{nl}",
            f'Content-Type: multipart/alternative;{nl} boundary="{inner}"{nl}MIME-Version: 1.0{nl}{nl}',  # folded as the generator folds it
            f"--{inner}{nl}", _text_part(self.body or "", "plain", charset),
            f"{nl}--{inner}{nl}", _text_part(self.html, "html", charset),
            f"{nl}--{inner}--{nl}",
            f"{nl}--{outer}--{nl}"))
        return text.encode("utf-8", "surrogateescape")


def _text_part(body, subtype, charset):
    nl = WIRE_POLICY.linesep
    encoding = "7bit" if body.isascii() else "8bit"
    return (f'Content-Type: text/{subtype}; charset="{charset}"{nl}MIME-Version: 1.0{nl}'
            f"Content-Transfer-Encoding: {encoding}{nl}{nl}" + nl.join(LINE_ENDS.split(body)))


LINE_ENDS = re.compile(r"\r\n|\r|\n")  # as the email package splits a body into lines


def _boundary():
    return f"=_{secrets.token_hex(16)}"


@lru_cache(maxsize=256)
def address(value, charset="utf-8"):
    """An address (or (name, address)) as Flask-Mail writes it in a header; the same few
    senders every message, so they are encoded once."""
    return sanitize_address(value, charset or "utf-8")


@lru_cache(maxsize=16)
def _envelope_from(sender):
    return parseaddr(address(sender))[1]
