"""Every user-facing string has a Simplified Chinese translation; English is available."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "authsvc/translations/zh/LC_MESSAGES/messages.po"


def _catalog(path):
    with open(path, "rb") as handle:
        return read_po(handle, locale="zh")


def test_every_extracted_message_is_translated(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F",
                    str(ROOT / "babel.cfg"), "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), str(ROOT)],
                   check=True, cwd=ROOT, capture_output=True)
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(pot) if m.id}
    catalog = _catalog(PO)
    translated = {}
    for m in catalog:
        if m.id:
            key = m.id if isinstance(m.id, str) else m.id[0]
            text = m.string if isinstance(m.string, str) else m.string[0]
            translated[key] = "" if m.fuzzy else text
    missing = sorted(k for k in wanted if not translated.get(k))
    assert not missing, f"untranslated (run make extract-messages, then translate): {missing}"


def test_chinese_by_default_and_english_on_request(client):
    chinese = client.get("/register").get_data(as_text=True)
    assert "创建账户" in chinese and 'lang="zh-CN"' in chinese
    english = client.get("/register", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert "Create an account" in english and 'lang="en"' in english


def test_api_errors_follow_accept_language(api):
    zh = api.post("/registrations", json={})
    en = api.post("/registrations", json={}, headers={"Accept-Language": "en"})
    assert zh.get_json()["error"]["fields"]["email"] == ["此项为必填项。"]
    assert en.get_json()["error"]["fields"]["email"] == ["This field is required."]


def test_language_switch_is_remembered(browser):
    response = browser.submit("/lang/en", {"next": "/register"}, page="/register")
    assert response.status_code == 302 and response.headers["Location"].endswith("/register")
    assert "Create an account" in browser.get("/register").get_data(as_text=True)


def test_a_forced_language_inside_a_chinese_request_and_back(app):
    """Mail is rendered in the recipient's language in the middle of a page's request."""
    from flask import render_template_string
    from flask_babel import force_locale

    from authsvc.errors import CaptchaRequired
    from authsvc.web.forms import LoginForm

    template = "{{ _('Sign in') }}|{{ ngettext('%(num)d try left.', '%(num)d tries left.', 2) }}"
    with app.test_request_context("/login", headers={"Accept-Language": "zh-CN"}):
        before = render_template_string(template)
        with force_locale("en"):
            inside = render_template_string(template)
            label = str(LoginForm(meta={"csrf": False}).password.label.text)
            error = str(CaptchaRequired.default_message)
        after = render_template_string(template)
        assert str(LoginForm(meta={"csrf": False}).password.label.text) == "密码"
        assert str(CaptchaRequired.default_message) == "请输入图片中的字符。"
    assert before == after and before.startswith("登录|")
    assert inside == "Sign in|2 tries left." and label == "Password"
    assert error == "Please enter the characters shown in the picture."
