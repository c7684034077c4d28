"""Accessibility and the account page's session controls, checked on the rendered HTML (fast;
the browser suite checks the same in Chromium, with axe-core): unique ids, the skip link, the
error summary and the fields it names, the 404/405 pages in both languages, GET /logout, the
show-password buttons, "sign out all other sessions" and "ended elsewhere"."""

import re
from collections import Counter
from html.parser import HTMLParser

from .support import Browser, csrf_from

PASSWORD = "correct horse battery"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
ENDED = {"zh": "由于该会话已在其他地方被结束，您已退出登录。",
         "en": "You were signed out because the session was ended elsewhere."}


class Elements(HTMLParser):
    """Every start tag as (tag, attributes)."""

    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))

    def by_id(self, ident):
        return next(attrs for _tag, attrs in self.found if attrs.get("id") == ident)

    def ids(self):
        return [attrs["id"] for _tag, attrs in self.found if attrs.get("id")]


def sign_in(browser, name="alice", password=PASSWORD, headers=None):
    return browser.submit("/login", {"login": name, "password": password}, headers=headers)


def assert_unique_ids(html, where):
    twice = [ident for ident, n in Counter(Elements(html).ids()).items() if n > 1]
    assert not twice, f"{where}: ids used more than once: {twice}"


def test_every_page_has_unique_ids_and_a_skip_link(app, register_user, admin_token):
    register_user()
    anonymous, person, admin = (Browser(app.test_client()) for _ in range(3))
    sign_in(person)
    sign_in(person.__class__(app.test_client()))  # a second session: two rows, two forms
    assert sign_in(admin, "boss", "the admin passphrase").status_code == 302
    pages = {anonymous: ["/login", "/register", "/reset", "/login/code", "/logout", "/no/such/page", "/lang/zh"],
             person: ["/account", "/account/password", "/account/email", "/account/app", "/logout"],
             admin: ["/admin", "/admin/users", "/admin/invites", "/admin/audit", "/admin/users/1"]}
    seen = 0
    for who, paths in pages.items():
        for path in paths:
            response = who.get(path)
            assert response.status_code in (200, 404, 405), (path, response.status_code)
            html = response.get_data(as_text=True)
            assert_unique_ids(html, path)
            elements = Elements(html)
            skip = next(attrs for tag, attrs in elements.found if tag == "a")  # the first link
            assert skip.get("href") == "#main" and "skip-link" in skip.get("class", ""), path
            assert elements.by_id("main")  # where it leads
            seen += 1
    assert seen == 17
    account = person.get("/account").get_data(as_text=True)
    assert account.count('name="csrf_token"') >= 4  # several forms, and still no repeated id


def test_a_wrong_password_gets_a_summary_that_names_and_links_the_field(browser, register_user):
    register_user()
    page = sign_in(browser, password="not my password").get_data(as_text=True)
    elements = Elements(page)
    summary = elements.by_id("error-summary")
    assert summary["role"] == "alert" and summary["tabindex"] == "-1"
    assert re.search(r'<a href="#password" data-field-link>密码</a>', page)
    field = elements.by_id("password")
    assert field["aria-invalid"] == "true" and "form-errors" in field["aria-describedby"].split()
    assert "账号或密码错误" in re.search(r'<div id="form-errors">(.*?)</div>\s*</div>', page, re.S).group(1)
    assert "aria-invalid" not in elements.by_id("login")  # only the field concerned


def test_field_errors_and_hints_are_linked_to_their_fields(browser, register_user):
    register_user()
    sign_in(browser)
    page = browser.submit("/account/password", {"current_password": PASSWORD, "new_password": "violet kettle "
                          "mountain", "confirm": "something else"}).get_data(as_text=True)
    elements = Elements(page)
    confirm = elements.by_id("confirm")
    assert confirm["aria-invalid"] == "true" and confirm["aria-describedby"] == "confirm-errors"
    assert elements.by_id("confirm-errors")
    assert elements.by_id("new_password")["aria-describedby"] == "new_password-hint"
    assert elements.by_id("new_password-hint")
    assert re.search(r'<a href="#confirm" data-field-link>确认密码</a>', page)
    assert "请修改标出的字段" in page  # no form-level message: the summary says what to do
    # every password field has its show-password button (hidden until app.js runs)
    for name in ("current_password", "new_password", "confirm"):
        assert re.search(rf'<button type="button" class="reveal" aria-pressed="false" aria-controls="{name}" '
                         r'data-reveal hidden>显示<span class="visually-hidden"> ', page), name


def test_404_and_405_are_designed_pages_in_both_languages(client):
    for lang, words in {"zh": ("页面不存在", "错误代码：404", "返回首页"),
                        "en": ("Page not found", "Error code: 404", "Back to the start page")}.items():
        client.set_cookie("lang", lang)
        missing = client.get("/no/such/page")
        assert missing.status_code == 404 and missing.mimetype == "text/html"
        assert all(word in missing.get_data(as_text=True) for word in words), lang
        assert f"<title>{words[0]} · " in missing.get_data(as_text=True)
        wrong = client.get("/account/sessions/0123456789abcdef/end")
        assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"]
        heading = {"zh": "无法这样打开此页面", "en": "This page cannot be opened like this"}[lang]
        assert f"<h1>{heading}</h1>" in wrong.get_data(as_text=True)
    # the API keeps its JSON
    assert client.get("/api/v1/nothing").get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/sessions").get_json()["error"]["code"] == "method_not_allowed"


def test_get_logout_offers_a_button_that_signs_out(browser, register_user):
    register_user()
    sign_in(browser)
    page = browser.get("/logout")
    assert page.status_code == 200 and browser.get("/account").status_code == 200  # a GET ends nothing
    html = page.get_data(as_text=True)
    assert '<form method="post" action="/logout" class="card">' in html and "alice" in html
    assert browser.client.post("/logout", data={"csrf_token": csrf_from(html)}).status_code == 302
    assert browser.get("/account").status_code == 302
    assert "您尚未登录" in browser.get("/logout").get_data(as_text=True)


def _audit(app, event):
    from authsvc.models import AuditEvent

    with app.app_context():
        return [e.detail for e in AuditEvent.query.filter_by(event=event)]


def test_sign_out_all_other_sessions_and_the_ended_ones_are_told(app, register_user):
    _user, token = register_user()
    mine, phone, laptop = (Browser(app.test_client()) for _ in range(3))
    sign_in(mine)
    sign_in(phone, headers={"User-Agent": IPHONE})
    sign_in(laptop)
    laptop.client.set_cookie("lang", "en")
    page = mine.get("/account").get_data(as_text=True)
    # each session's button is named for its device; on a phone each value keeps its label
    assert re.search(r'退出登录<span class="visually-hidden"> Mobile Safari · iOS</span></button>', page)
    assert page.count('<span class="cell-label">IP 地址</span>') == 4  # 3 browsers + the API token
    ended = mine.client.post("/account/sessions/end-others", data={"csrf_token": csrf_from(page)})
    assert ended.status_code == 302
    assert "已退出其他 3 个会话" in mine.get("/account").get_data(as_text=True)
    assert mine.get("/account").status_code == 200
    assert _audit(app, "session.ended_others") == [{"count": 3}]
    for who, lang in ((phone, "zh"), (laptop, "en")):
        away = who.get("/account")
        assert away.status_code == 302 and "/login" in away.headers["Location"]
        login = who.get(away.headers["Location"]).get_data(as_text=True)
        assert ENDED[lang] in login, lang
        assert {"zh": "请先登录", "en": "Please sign in first"}[lang] not in login  # one message
        assert ENDED[lang] not in who.get("/login").get_data(as_text=True)  # said once
    from .support import Api

    assert Api(app.test_client()).get("/me", token=token).status_code == 401  # the token too
    # a plain sign-out, or a session that simply expired, is not "ended elsewhere"
    mine.submit("/logout", {}, page="/account")
    assert ENDED["zh"] not in mine.get("/login").get_data(as_text=True)


def test_api_ends_every_other_session(app, api, register_user):
    _user, first = register_user()
    browser = Browser(app.test_client())
    sign_in(browser)
    second = api.post("/sessions", json={"login": "alice", "password": PASSWORD}).get_json()["token"]
    answer = api.post("/me/sessions/end-others", token=second)
    assert answer.status_code == 200 and answer.get_json() == {"ended": 2}
    assert api.get("/me", token=first).status_code == 401
    assert api.get("/me", token=second).status_code == 200
    assert browser.get("/account").status_code == 302
    items = api.get("/me/sessions", token=second).get_json()["items"]
    assert [item["current"] for item in items] == [True]
    assert api.post("/me/sessions/end-others").status_code == 401


def _summary_link(html):
    """(the field the summary links, that field's attributes)."""
    match = re.search(r'<a href="#([a-z_]+)" data-field-link>', html)
    assert match, "no field linked from the error summary"
    return match.group(1), Elements(html).by_id(match.group(1))


def test_every_form_level_error_links_the_field_it_concerns(make_service):
    service = make_service(LOGIN_CAPTCHA="never")
    service.register_user()
    browser = service.browser
    # the lock: after five wrong passwords, the password field
    for _ in range(5):
        locked = sign_in(browser, password="not my password")
    assert locked.status_code == 423
    name, field = _summary_link(locked.get_data(as_text=True))
    assert name == "password" and field["aria-invalid"] == "true"
    # a wrong code: the code field
    browser.submit("/login/code", {"email": "alice@example.com"}, captcha=True)
    wrong = browser.submit("/login/code/verify", {"code": "000000"})
    assert wrong.status_code == 400
    name, field = _summary_link(wrong.get_data(as_text=True))
    assert name == "code" and "form-errors" in field["aria-describedby"]
    assert "验证码错误" in wrong.get_data(as_text=True)


def test_a_wrong_captcha_links_the_captcha_field(browser, register_user):
    register_user()
    wrong = browser.submit("/reset", {"email": "alice@example.com", "captcha": "NOPE"}, captcha=True)
    name, field = _summary_link(wrong.get_data(as_text=True))
    assert name == "captcha" and field["aria-invalid"] == "true"
