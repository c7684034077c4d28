"""Mail: what the verification and notice mails say, how they travel, the dev outbox."""

import re

from .support import html_of, text_of, wait_until

CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")


def test_verification_mail_content(api, mailbox):
    api.register(headers={"User-Agent": CHROME_WINDOWS, "Accept-Language": "zh-CN,zh;q=0.9"},
                 ip="203.0.113.7")
    message = mailbox.last("alice@example.com")
    code = mailbox.code("alice@example.com")
    assert message["Subject"] == f"【注册验证】您的验证码是：{code}"
    assert message["From"] == "账户安全中心 <noreply@accounts.example.com>"  # MAIL_SENDER_NAME
    assert message["To"] == "alice@example.com"
    text, html = text_of(message), html_of(message)
    assert "15 分钟内有效" in text
    assert "203.0.113.7" in text and "Chrome · Windows" in text
    assert "accounts.example.com" in text  # anti-phishing footer names the official domain
    assert re.search(rf"font-size:\s*3\dpx[^>]*>{code}<", html)  # the code, large
    assert message["Message-ID"].startswith("<") and "@accounts.example.com>" in message["Message-ID"]


def test_the_bytes_on_the_wire(api, mailbox):
    """CRLF lines within RFC 5322's 998 octets (78 in the header), encoded-words within RFC 2047's
    75 characters,
    a subject that decodes exactly, and multipart boundaries that differ between messages."""
    api.register(headers={"User-Agent": CHROME_WINDOWS})
    api.register(email="bob@example.com", username="bob", headers={"User-Agent": CHROME_WINDOWS})
    delivered = mailbox.messages()
    raws = [m["raw"] for m in delivered]
    for raw, item in zip(raws, delivered, strict=True):
        lines = raw.split(b"\r\n")
        assert b"\n" not in b"".join(lines) and max(map(len, lines)) <= 998
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        assert max(map(len, head)) <= 78
        words = re.findall(rb"=\?[^?]+\?[bq]\?[^?]*\?=", raw, re.IGNORECASE)
        assert words and max(map(len, words)) <= 75
        code = re.search(r"\d{6}", item["message"]["Subject"]).group()
        assert item["message"]["Subject"] == f"【注册验证】您的验证码是：{code}"
        assert text_of(item["message"]).count(code) >= 1 and code in html_of(item["message"])
    boundaries = [set(re.findall(rb'boundary="([^"]+)"', raw)) for raw in raws]
    assert all(len(b) == 2 for b in boundaries) and not boundaries[0] & boundaries[1]


def test_mail_in_english(api, mailbox):
    api.register(headers={"Accept-Language": "en-US,en;q=0.8"})
    message = mailbox.last("alice@example.com")
    assert message["Subject"].startswith("[Sign-up code] Your verification code is: ")
    assert "Valid for 15 minutes." in text_of(message)


def test_one_recipient_per_message(api, mailbox):
    api.register()
    delivered = mailbox.messages()
    assert len(delivered) == 1
    assert delivered[0]["to"] == ["alice@example.com"]
    assert delivered[0]["message"].get_all("Bcc") is None


def test_links_come_from_public_url_not_host(make_service, register_user):
    service = make_service(RESEND_COOLDOWN=0)
    register_user()
    service.mailbox.server.clear()
    service.api.register(username="alice2", headers={"Host": "evil.example"})
    body = text_of(service.mailbox.last("alice@example.com"))
    assert "https://accounts.example.com/login" in body
    assert "evil.example" not in body


def test_embedded_worker_delivers_without_help(app, api, smtp_server):
    from authsvc.services.mail import start_embedded

    start_embedded(app)
    api.register()
    assert wait_until(lambda: smtp_server.recorder.messages, timeout=10)


def test_dev_outbox_when_no_smtp_is_configured(make_app, tmp_path):
    app = make_app(AUTHSVC_ENV="development", SECRET_KEY=None, MAIL_SERVER=None,
                   CAPTCHA_FIXED_TEXT=None, CAPTCHA_ENABLED=False, INSTANCE_PATH=str(tmp_path))
    client = app.test_client()
    response = client.post("/api/v1/registrations", json={
        "email": "dev@example.com", "username": "devuser", "password": "correct horse battery"})
    assert response.status_code == 202
    from authsvc.services.mail import MailWorker

    assert MailWorker(app).drain() == ["sent"]
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    page = client.get("/dev/outbox").get_data(as_text=True)
    assert "dev@example.com" in page
    detail = client.get(f"/dev/outbox/{files[0].name}").get_data(as_text=True)
    assert re.search(r"\b\d{6}\b", detail)
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_dev_outbox_does_not_exist_outside_development(client):
    assert client.get("/dev/outbox").status_code == 404
