"""SECURITY.md items 34-39: mail headers and links, audit entries, logs, errors, SECRET_KEY."""

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask.cli import ScriptInfo
from flask.helpers import get_debug_flag

from authsvc import create_app
from authsvc.config import KNOWN_WEAK_SECRETS

from ..support import html_of, text_of
from .helpers import (ADMIN_PASSWORD, NEW_PASSWORD, PASSWORD, PRODUCTION, Browser_for, admin_token, api_login,
                      audit_events, get_user, web_login)

ROOT = Path(__file__).resolve().parents[2]

# --- item 34 --------------------------------------------------------------------------------
INJECTIONS = [
    "alice@example.com\r\nBcc: victim@example.com",
    "alice@example.com\nBcc: victim@example.com",
    "alice@example.com\rBcc: victim@example.com",
    "alice@example.com\r\n\r\nvictim body",
    "alice@example.com\u2028Bcc: victim@example.com",
    "alice@example.com\x85Bcc: victim@example.com",
    "alice@example.com\tBcc: victim@example.com",
    "alice@example.com, victim@example.com",
    "alice@example.com>\r\nBcc: <victim@example.com",
    '"x\r\nBcc: victim@example.com"@example.com',
    "Bcc: victim@example.com",
]


def _assert_clean_smtp(mailbox):
    delivered = mailbox.messages()
    for item in delivered:
        assert len(item["to"]) == 1 and "victim" not in item["to"][0], item["to"]
        message = item["message"]
        assert message["To"] == item["to"][0]
        assert message.get_all("Bcc") is None and message.get_all("Cc") is None
        assert b"victim" not in item["raw"]
    return delivered


def test_item_34_crlf_or_header_text_in_any_mailed_address_is_a_4xx_over_the_api(make_service):
    service = make_service(CAPTCHA_ENABLED=False, RESEND_COOLDOWN=0)
    _user, token = service.register_user()
    api, mailbox = service.api, service.mailbox
    mailbox.server.clear()
    for payload in INJECTIONS:
        answers = {
            "register": api.post("/registrations", json={"email": payload, "username": "mallory",
                                                         "password": PASSWORD}),
            "resend": api.resend_registration(payload),
            "login code": api.post("/login-codes", json={"email": payload}),
            "reset": api.post("/password-resets", json={"email": payload}),
            "new email": api.post("/me/email", json={"password": PASSWORD, "new_email": payload}, token=token),
        }
        for flow, response in answers.items():
            assert 400 <= response.status_code < 500, (flow, repr(payload), response.status_code)
            assert response.get_json()["error"]["code"] == "invalid_input", (flow, repr(payload))
    assert _assert_clean_smtp(mailbox) == []  # nothing at all was sent
    api.post("/password-resets", json={"email": "alice@example.com"})  # a legitimate mail still goes out
    assert len(_assert_clean_smtp(mailbox)) == 1


def test_item_34_crlf_in_addresses_on_the_pages_and_the_cli_is_refused(make_service):
    service = make_service(CAPTCHA_ENABLED=False)
    service.register_user()
    app, mailbox = service.app, service.mailbox
    signed = Browser_for(app)
    web_login(signed)
    mailbox.server.clear()
    for payload in INJECTIONS:
        pages = [
            Browser_for(app).submit("/register", {"email": payload, "username": "mallory", "password": PASSWORD,
                                                  "confirm": PASSWORD}),
            Browser_for(app).submit("/login/code", {"email": payload}),
            Browser_for(app).submit("/reset", {"email": payload}),
            signed.submit("/account/email", {"new_email": payload, "password": PASSWORD}),
        ]
        for page in pages:
            assert 400 <= page.status_code < 500, (page.request.path, repr(payload), page.status_code)
    runner = app.test_cli_runner()
    for args in (["send-test-mail", INJECTIONS[0]],
                 ["create-admin", "--email", INJECTIONS[0], "--username", "mallory"]):
        result = runner.invoke(args=args, env={"AUTHSVC_ADMIN_PASSWORD": ADMIN_PASSWORD})
        assert result.exit_code != 0, (args, result.output)
    assert _assert_clean_smtp(mailbox) == []


# --- item 35 --------------------------------------------------------------------------------
HOSTILE = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http",
           "X-Forwarded-Server": "evil.example", "Forwarded": "host=evil.example;proto=http",
           "X-Original-URL": "http://evil.example/", "Origin": "http://evil.example",
           "Referer": "http://evil.example/"}


def test_item_35_every_mail_takes_links_and_domain_from_public_url(make_service):
    service = make_service(PROXY_FIX_X_FOR=1, NOTIFY_NEW_DEVICE=True, CAPTCHA_ENABLED=False, RESEND_COOLDOWN=0,
                           LOGIN_CAPTCHA="never", SEND_LIMIT_PER_EMAIL="50 per hour")
    api, mailbox, app = service.api, service.mailbox, service.app

    def post(path, body, token=None):
        return api.post(path, json=body, token=token, headers=HOSTILE)

    started = post("/registrations", {"email": "alice@example.com", "username": "alice", "password": PASSWORD})
    token = post("/registrations/confirm", {"email": "alice@example.com",
                                            "registration_id": started.get_json()["registration_id"],
                                            "code": mailbox.code("alice@example.com")}).get_json()["token"]
    post("/registrations", {"email": "alice@example.com", "username": "alice2", "password": PASSWORD})
    post("/sessions", {"login": "alice", "password": PASSWORD})  # new device notice, with unsubscribe link
    post("/login-codes", {"email": "alice@example.com"})
    post("/me/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, token=token)
    post("/me/email", {"password": NEW_PASSWORD, "new_email": "alice.new@example.com"}, token=token)
    post("/me/email/confirm", {"code": mailbox.code("alice.new@example.com")}, token=token)
    post("/password-resets", {"email": "alice.new@example.com"})
    post("/password-resets/confirm", {"email": "alice.new@example.com",
                                      "code": mailbox.code("alice.new@example.com"), "new_password": PASSWORD})
    for _ in range(5):
        post("/sessions", {"login": "alice", "password": "wrong password!"})  # lockout notice
    service.register_user(email="bob@example.com", username="bobby")
    bob_token = api_login(api, "bobby").get_json()["token"]
    post("/me/email", {"password": PASSWORD, "new_email": "alice.new@example.com"}, token=bob_token)  # in use
    admin = admin_token(app, api)
    post(f"/admin/users/{get_user(app, username='bobby').id}/deactivate", {}, token=admin)
    delivered = mailbox.messages()
    subjects = " | ".join(m["message"]["Subject"] for m in delivered)
    assert len(delivered) >= 12, subjects
    unsubscribe_links = 0
    for item in delivered:
        message = item["message"]
        assert b"evil" not in item["raw"], message["Subject"]
        for link in re.findall(r"https?://[^\s\"'<>]+", text_of(message) + html_of(message)):
            assert re.match(r"https://accounts\.example\.com(/|$)", link), (message["Subject"], link)
        if message["List-Unsubscribe"]:
            unsubscribe_links += 1
            assert message["List-Unsubscribe"].startswith("<https://accounts.example.com/")
        assert message["Message-ID"].endswith("@accounts.example.com>")
        assert "accounts.example.com" in text_of(message)  # the anti-phishing footer names the site
    assert unsubscribe_links >= 1


# --- item 36 --------------------------------------------------------------------------------
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 audit-check"


def test_item_36_admin_actions_and_page_flows_are_audited_with_every_field(make_service):
    service = make_service(LOGIN_CAPTCHA="never")
    app, api = service.app, service.api
    user, _token = service.register_user()
    headers = {"User-Agent": UA}
    browser = Browser_for(app)
    browser.client.environ_base.update({"HTTP_USER_AGENT": UA, "REMOTE_ADDR": "198.51.100.20"})
    web_login(browser, "alice", "wrong password!")
    web_login(browser)
    browser.submit("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                         "confirm": NEW_PASSWORD})
    browser.submit("/logout", {}, page="/account")
    admin = admin_token(app, api)
    admin_id = get_user(app, username="boss").id
    target = user["id"]
    for _ in range(5):
        api.post("/sessions", json={"login": "alice", "password": "wrong password!"}, headers=headers)
    api.post(f"/admin/users/{target}/unlock", token=admin, headers=headers, ip="198.51.100.21")
    api.post(f"/admin/users/{target}/send-reset", token=admin, headers=headers, ip="198.51.100.21")
    api.post(f"/admin/users/{target}/deactivate", token=admin, headers=headers, ip="198.51.100.21")
    api.post(f"/admin/users/{target}/activate", token=admin, headers=headers, ip="198.51.100.21")
    code = api.post("/admin/invites", json={"count": 1, "uses": 2}, token=admin, headers=headers,
                    ip="198.51.100.21").get_json()["items"][0]["code"]
    api.delete(f"/admin/invites/{code}", token=admin, headers=headers, ip="198.51.100.21")
    now = datetime.now(timezone.utc)
    recorded = audit_events(app)
    by_name = {}
    for event in recorded:
        by_name.setdefault(event["event"], []).append(event)
    page_events = {"login.failure": "failure", "login.success": "success", "password.changed": "success",
                   "logout": "success"}
    for name, outcome in page_events.items():
        event = next((e for e in by_name.get(name, []) if e["ip"] == "198.51.100.20"), None)
        assert event, name
        assert event["outcome"] == outcome and event["user_agent"] == UA and event["user_id"] == target, event
    assert any(e["outcome"] == "failure" and e["user_id"] == target for e in by_name["login.locked"])
    admin_events = ["admin.user_unlocked", "admin.reset_sent", "admin.user_deactivated", "admin.user_activated"]
    for name in admin_events:
        assert len(by_name.get(name, [])) == 1, name
        event = by_name[name][0]
        assert event["actor_id"] == admin_id and event["user_id"] == target, event
        assert event["ip"] == "198.51.100.21" and event["user_agent"] == UA and event["outcome"] == "success", event
    for name in ("invite.created", "invite.disabled"):
        assert any(e["actor_id"] == admin_id and e["ip"] == "198.51.100.21" for e in by_name.get(name, [])), name
    for event in recorded:
        assert event["at"].endswith("Z"), event
        moment = datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
        assert abs((now - moment).total_seconds()) < 120, event  # UTC, not the display time zone
        assert event["outcome"] in ("success", "failure"), event


# --- item 37 --------------------------------------------------------------------------------
FORGED = '{"ts": "2020-01-01T00:00:00Z", "level": "ERROR", "logger": "authsvc.forged", "msg": "FORGED"}'


def test_item_37_crlf_in_requests_cannot_forge_log_lines(make_app, capfd):
    app = make_app(LOG_LEVEL="INFO", LOGIN_CAPTCHA="never")
    client = app.test_client()
    capfd.readouterr()
    injected = f"\r\n{FORGED}\r\n"
    client.get("/login%0D%0A" + FORGED.replace('"', "%22").replace(" ", "%20") + "%0D%0A")
    client.get("/healthz", query_string={"q": injected})
    client.post("/api/v1/sessions", json={"login": f"ghost{injected}@example.com", "password": "whatever123"})
    client.post("/api/v1/sessions", json={"login": 'x","level":"ERROR","msg":"FORGED"}@example.com',
                                          "password": "whatever123"})
    client.post("/api/v1/sessions", json={"login": "ghost@example.com", "password": "whatever123"},
                environ_base={"HTTP_USER_AGENT": f"agent{injected}", "HTTP_X_REQUEST_ID": f"id{injected}"})
    client.post("/api/v1/password-resets", json={"email": f"a@example.com{injected}"})
    err = capfd.readouterr().err
    assert "\r" not in err  # no carriage return can rewrite a line on a terminal
    lines = [line for line in err.split("\n") if line.strip()]
    mentioning = [line for line in lines if "forged" in line.lower()]
    assert len(mentioning) >= 3, err  # the input did reach the logs (path, login name, user agent)
    for line in lines:
        parsed = json.loads(line)  # every line is one whole JSON record
        assert parsed["logger"] != "authsvc.forged" and parsed["ts"] != "2020-01-01T00:00:00Z", line
        assert "\n" not in parsed.get("request_id", ""), line


# --- item 38 --------------------------------------------------------------------------------
def test_item_38_unexpected_errors_are_generic_without_a_traceback_in_production(make_service, capfd):
    service = make_service(**PRODUCTION)
    app = service.app

    @app.get("/boom-page")
    @app.get("/api/v1/boom-api")
    def boom():
        raise RuntimeError("secret internals at /srv/authsvc/private.py")

    assert not app.debug and not app.config.get("PROPAGATE_EXCEPTIONS")
    client = app.test_client()
    answers = {"page": client.get("/boom-page"), "api": client.get("/api/v1/boom-api"),
               "page asking for json": client.get("/boom-page", headers={"Accept": "application/json"})}
    for kind, response in answers.items():
        body = response.get_data(as_text=True)
        assert response.status_code == 500, kind
        for leak in ("secret internals", "Traceback", "private.py", "RuntimeError", 'File "', "werkzeug"):
            assert leak not in body, (kind, leak)
    assert answers["page"].mimetype == "text/html"
    assert answers["api"].get_json() == {"error": {"code": "internal_error",
                                                   "message": answers["api"].get_json()["error"]["message"]}}
    assert answers["page asking for json"].get_json()["error"]["code"] == "internal_error"
    logged = capfd.readouterr().err
    assert "secret internals" in logged and "Traceback" in logged  # the operator still sees it, in the log


@pytest.mark.parametrize("env", ["production", "testing"])
def test_item_38_flask_debug_cannot_switch_the_debugger_on_outside_development(base_config, monkeypatch, env):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    config = dict(base_config, **PRODUCTION) if env == "production" else dict(base_config)
    info = ScriptInfo(create_app=lambda: create_app(config), set_debug_flag=True)  # what `flask run` does
    try:
        app = info.load_app()
    except RuntimeError:
        return  # refusing to start is a fine answer
    # `flask run` enables the interactive debugger when get_debug_flag() is true after loading the app
    assert not app.debug and not get_debug_flag()


# --- item 39 --------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ["production", "testing"])
def test_item_39_secret_key_must_be_set_outside_development(base_config, monkeypatch, env):
    config = {k: v for k, v in base_config.items() if k != "SECRET_KEY"}
    config.update(PRODUCTION if env == "production" else {})
    config.pop("SECRET_KEY", None)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("AUTHSVC_ENV", env)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(dict(config, AUTHSVC_ENV=env))
    monkeypatch.setenv("SECRET_KEY", "")  # set but empty, as .env.example ships it
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(dict(config, AUTHSVC_ENV=env))


def _env_example_secret():
    match = re.search(r"^SECRET_KEY=(.*)$", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M)
    return match.group(1).strip() if match else ""


def test_item_39_known_default_keys_refuse_to_start_in_production(base_config, monkeypatch):
    weak = set(KNOWN_WEAK_SECRETS) | {s.upper() for s in KNOWN_WEAK_SECRETS} | {f"  {s} " for s in KNOWN_WEAK_SECRETS}
    weak |= {_env_example_secret(), "dev", "secret", "changeme", "super-secret", "s3cr3t", "x" * 31,
             "your-secret-key"}
    for key in sorted(weak):
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            create_app(dict(base_config, **dict(PRODUCTION, SECRET_KEY=key)))
    # also when it only comes from the environment, as docker-compose passes it
    config = {k: v for k, v in base_config.items() if k != "SECRET_KEY"}
    monkeypatch.setenv("SECRET_KEY", "changeme")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(dict(config, **{k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}))


def test_item_39_development_generates_its_own_random_key(base_config, tmp_path):
    keys = []
    for name in ("one", "two"):
        app = create_app(dict(base_config, AUTHSVC_ENV="development", SECRET_KEY=None, CAPTCHA_FIXED_TEXT=None,
                              INSTANCE_PATH=str(tmp_path / name)))
        keys.append(app.config["SECRET_KEY"])
    assert keys[0] != keys[1]
    assert all(len(k) >= 32 and k.strip().lower() not in KNOWN_WEAK_SECRETS for k in keys)
