"""Issue 14, "Mail": a subject tag per purpose in the mail's language, the sender's display
name and Message-ID domain, the no-reply line and footer, the language of each mail, and a
"not you?" action in the security notices. Real SMTP (aiosmtpd), real Redis."""

import re
from email.utils import parseaddr

import pytest

from authsvc import create_app

from .support import html_of, text_of

PASSWORD = "correct horse battery"
EN = {"Accept-Language": "en-US,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
ROOMY = {"SEND_LIMIT_PER_EMAIL": "100 per 5 minutes", "RESEND_COOLDOWN": 0}


def _subjects(service, to):
    return [m["message"]["Subject"] for m in service.mailbox.messages(to)]


def _code_mails(service, headers):
    """Ask for a sign-in code, a reset code and an email-change code in one language."""
    api = service.api
    _user, token = service.register_user()
    service.mailbox.server.clear()
    assert api.post("/login-codes", json={"email": "alice@example.com", **api.captcha()},
                    headers=headers).status_code == 202
    assert api.post("/password-resets", json={"email": "alice@example.com", **api.captcha()},
                    headers=headers).status_code == 202
    assert api.post("/me/email", json={"password": PASSWORD, "new_email": "alice.new@example.com"},
                    token=token, headers=headers).status_code == 202
    assert api.post("/me/password", json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
                    token=token, headers=headers).status_code == 200
    return _subjects(service, "alice@example.com"), _subjects(service, "alice.new@example.com")


def test_each_purpose_has_its_own_subject_tag_in_chinese(make_service):
    service = make_service(**ROOMY)
    old, new = _code_mails(service, ZH)
    assert [s[:6] for s in old] == ["【登录验证】", "【重置密码】", "【安全提醒】"]
    assert new[0].startswith("【邮箱变更】")
    assert not any("【账户验证】" in s for s in old + new)


def test_english_mail_has_english_tags(make_service):
    """The account was made in Chinese; these flows were started in English: English mail."""
    service = make_service(**ROOMY)
    old, new = _code_mails(service, EN)
    assert old[0].startswith("[Sign-in code] Your verification code is: ")
    assert old[1].startswith("[Password reset] ")
    assert new[0].startswith("[Email change] ")
    assert not any("【" in s for s in old[:2] + new)
    # the password-change notice is mail nobody asked for: the account's language (zh)
    assert old[2].startswith("【安全提醒】")


def test_the_second_step_and_registration_tags(make_service):
    service = make_service(LOGIN_SECOND_FACTOR="always", **ROOMY)
    service.api.register(headers=EN)
    assert _subjects(service, "alice@example.com")[-1].startswith("[Sign-up code] ")
    code = service.mailbox.code("alice@example.com")
    assert service.api.confirm_registration("alice@example.com", code).status_code == 201
    started = service.api.post("/sessions", json={"login": "alice", "password": PASSWORD})
    assert started.status_code == 202
    assert _subjects(service, "alice@example.com")[-1].startswith("【登录验证】")


def test_a_code_mail_follows_the_language_used_not_the_accounts(make_service):
    """Old code: the account's stored language (zh) won over the English page that asked."""
    service = make_service(**ROOMY)
    service.register_user()  # registered in Chinese: account language zh
    service.mailbox.server.clear()
    service.api.post("/login-codes", json={"email": "alice@example.com", **service.api.captcha()}, headers=EN)
    mail = service.mailbox.last("alice@example.com")
    assert "Your verification code is:" in text_of(mail)
    assert "This message was sent automatically; do not reply" in text_of(mail)
    # someone registering the taken address in English: the owner did not ask, gets zh
    service.mailbox.server.clear()
    service.api.register(username="alice2", headers=EN)
    notice = service.mailbox.last("alice@example.com")
    assert notice["Subject"].startswith("【安全提醒】") and "此邮件由系统自动发送，请勿回复" in text_of(notice)


def test_the_lockout_notice_speaks_the_accounts_language(make_service):
    service = make_service(LOGIN_CAPTCHA="never")
    service.register_user()
    service.mailbox.server.clear()
    for _ in range(5):
        service.api.post("/sessions", json={"login": "alice", "password": "not it at all"}, headers=EN)
    notice = service.mailbox.last("alice@example.com")
    assert notice["Subject"].startswith("【安全提醒】")
    assert "不是您本人？立即重置密码" in text_of(notice)
    assert "https://accounts.example.com/reset" in text_of(notice)


def test_sender_name_and_message_id_domain_from_the_address(make_service):
    service = make_service(MAIL_DEFAULT_SENDER="Old Name <12345@qq.com>")
    service.api.register()
    delivered = service.mailbox.messages("alice@example.com")[-1]
    message = delivered["message"]
    assert message["From"] == "账户安全中心 <12345@qq.com>"  # MAIL_SENDER_NAME's default
    assert parseaddr(str(message["From"]))[1] == "12345@qq.com"
    assert delivered["from"] == "12345@qq.com"  # the envelope: QQ wants the account itself
    assert re.fullmatch(r"<[0-9a-f]{32}@qq\.com>", message["Message-ID"])  # not "@qq.com>>"


def test_the_sender_name_is_a_setting(make_service):
    service = make_service(MAIL_DEFAULT_SENDER="12345@qq.com", MAIL_SENDER_NAME="Example Accounts")
    service.api.register()
    assert service.mailbox.last("alice@example.com")["From"] == "Example Accounts <12345@qq.com>"


def test_footer_names_the_public_host_the_no_reply_line_and_support(make_service):
    service = make_service(SUPPORT_CONTACT="help@example.org")
    service.api.register()
    mail = service.mailbox.last("alice@example.com")
    text, html = text_of(mail), html_of(mail)
    for body in (text, html):
        assert "此邮件由系统自动发送，请勿回复" in body
        assert "accounts.example.com" in body
        assert "help@example.org" in body
    assert 'href="mailto:help@example.org"' in html


def test_every_security_notice_that_can_have_one_offers_a_not_you_action(make_service):
    service = make_service(NOTIFY_NEW_DEVICE=True, **ROOMY)
    api = service.api
    _user, token = service.register_user()
    service.mailbox.server.clear()
    api.post("/sessions", json={"login": "alice", "password": PASSWORD}, headers=EN)  # a new device
    new_device = text_of(service.mailbox.last("alice@example.com"))
    assert "不是您本人？立即重置密码：所有会话和设备都会退出登录" in new_device
    assert "https://accounts.example.com/reset" in new_device
    assert "https://accounts.example.com/account" in new_device  # see and end that session
    api.post("/me/email", json={"password": PASSWORD, "new_email": "alice.new@example.com"}, token=token)
    code = service.mailbox.code("alice.new@example.com")
    api.post("/me/email/confirm", json={"code": code}, token=token)
    changed = service.mailbox.last("alice@example.com")
    assert "不是您本人？撤销此更改" in text_of(changed)
    assert re.search(r'<a href="https://accounts\.example\.com/email/undo/[^"]+"[^>]*>不是您本人？撤销此更改</a>',
                     html_of(changed))
    assert "/reset" not in text_of(changed)  # a reset code would go to the new address


@pytest.mark.parametrize("url", ["http://localhost:5000", "http://localhost:5000/", ""])
def test_production_refuses_the_development_public_url(base_config, url):
    config = dict(base_config, AUTHSVC_ENV="production", SECRET_KEY="p" * 48, CAPTCHA_FIXED_TEXT=None,
                  BCRYPT_ROUNDS=12, PUBLIC_URL=url)
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        create_app(config)


def test_production_starts_with_a_real_public_url_and_testing_with_the_default(base_config):
    create_app(dict(base_config, AUTHSVC_ENV="production", SECRET_KEY="p" * 48, CAPTCHA_FIXED_TEXT=None,
                    BCRYPT_ROUNDS=12, PUBLIC_URL="http://127.0.0.1:8731"))  # bench and the cluster tests run like this
    create_app(dict(base_config, PUBLIC_URL="http://localhost:5000"))


@pytest.mark.parametrize("contact", ["javascript:alert(1)", "not a contact", "help@", "ftp://x.example"])
def test_support_contact_must_be_a_url_or_an_address(base_config, contact):
    with pytest.raises(RuntimeError, match="SUPPORT_CONTACT"):
        create_app(dict(base_config, SUPPORT_CONTACT=contact))
