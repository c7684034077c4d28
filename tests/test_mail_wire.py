"""The usual mail is written directly (wire.WireMessage._written): byte for byte what the email
package's generator writes for the same message, apart from the random boundaries."""

import re
from email import message_from_bytes

import pytest

from authsvc.services.mail import delivery
from authsvc.services.mail.wire import WireMessage

BOUNDARY = re.compile(rb"=_[0-9a-f]{32}")


def same_boundaries(raw):
    seen = {}
    return BOUNDARY.sub(lambda m: seen.setdefault(m.group(), b"=_B%d" % len(seen)), raw)


def both(message):
    message.date = 1764700000.0
    return same_boundaries(message._written()), same_boundaries(message._generated())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_code_mail_is_written_as_the_generator_writes_it(app, lang):
    job = {"id": "0123abcd", "template": "verification", "to": "Bob.Smith@Example.com", "lang": lang,
           "ctx": {"code": "123456", "purpose": "register", "minutes": 15, "at": 1764700000.0,
                   "username": "bob", "ua": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"},
           "queued_at": 1764700000.0, "essential": True}
    with app.app_context():
        primary, _fallback = delivery.providers()
        written, generated = both(delivery.build_message(job, primary))
    assert written == generated
    parsed = message_from_bytes(written)
    assert parsed["Message-ID"] == "<0123abcd@" + parsed["Message-ID"].split("@")[1]
    assert "123456" in parsed.get_payload()[0].get_payload()[0].get_payload(decode=True).decode()


def test_long_headers_line_endings_and_non_ascii_are_written_as_the_generator_writes_them(app):
    message = WireMessage(
        subject="【安全提醒】" + "很长的主题 " * 20, recipients=["someone@example.com"],
        body="line one\r\nline two\rline three\nFrom the start\n\nlast line without end",
        html="<p>ünïcödé</p>\n" + "<p>" + "x" * 1200 + "</p>",
        sender=("账户安全中心", "noreply@accounts.example.com"), msg_id="<id@accounts.example.com>",
        extra_headers={"List-Unsubscribe": "<https://accounts.example.com/unsubscribe/" + "t" * 150 + ">",
                       "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                       "X-Authsvc-Job": "id"})
    with app.app_context():
        written, generated = both(message)
    assert written == generated
