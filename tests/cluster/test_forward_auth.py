"""Forward-auth in the shipped shape (issue 17): Debian's nginx with deploy/nginx/forward-auth.conf
itself (only upstreams, listen address, names and certificates put in for this machine) in
front of a small app of this test's own, and docker/nginx.conf in front of authsvc (gunicorn,
production settings) on one Redis (db 10) and PostgreSQL database (authsvc_fwdauth).

Names: auth.authsvc.test is authsvc, app.authsvc.test and admin.authsvc.test the protected
app (one server block, two names; the admin name is for admins only). HTTP requests connect to
127.0.0.1 and name the host; Chromium maps *.authsvc.test to 127.0.0.1.
"""

import html
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
import urllib.parse
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from ..support import free_port, wait_until
from ..support.checkout import ROOT, kill_group
from ..support.nginx import authsvc_site, from_template, nginx_config
from .test_cluster import _answers, fresh_database  # noqa: F401 - importing it skips without Redis/PostgreSQL

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
DATABASE = "authsvc_fwdauth"
REDIS_URL = "redis://127.0.0.1:6379/10"
PASSWORD = "correct horse battery"
ADMIN_PASSWORD = "the admin passphrase"
COOKIE = "__Secure-authsvc_session"

pytestmark = [pytest.mark.cluster, pytest.mark.skipif(
    not os.path.exists(NGINX) and not os.environ.get("CI"),
    reason="nginx missing: apt-get install -y nginx (.ci/run does)")]


def _nginx_config(folder, authsvc_port, app_port, http_port, https_port):
    certs = folder / "certs"
    # authsvc's own host: docker/nginx.conf, as tests/cluster/test_https.py runs it
    auth = authsvc_site([authsvc_port], http_port, https_port, certs, https_listen="ssl default_server")
    protected = from_template(ROOT / "deploy" / "nginx" / "forward-auth.conf", (
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{authsvc_port};"),
        ("server 127.0.0.1:3000;", f"server 127.0.0.1:{app_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("server_name app.example.com;", "server_name app.authsvc.test admin.authsvc.test;"),
        ("/etc/nginx/certs/fullchain.pem", f"{certs}/fullchain.pem"),
        ("/etc/nginx/certs/privkey.pem", f"{certs}/privkey.pem")))
    return nginx_config(folder, {"authsvc.conf": auth, "forward-auth.conf": protected})


def _certificates(folder):
    """A self-signed pair for *.authsvc.test and 127.0.0.1 (the HTTP client checks the IP)."""
    folder.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=authsvc.test", "-addext",
                    "subjectAltName=DNS:*.authsvc.test,DNS:authsvc.test,IP:127.0.0.1",
                    "-keyout", str(folder / "privkey.pem"), "-out", str(folder / "fullchain.pem")],
                   check=True, capture_output=True)


def echo_app(environ, start_response):
    """The protected app: shows whom the proxy says is signed in, and the cookies it got."""
    seen = {name: environ.get(f"HTTP_{name.upper().replace('-', '_')}", "")
            for name in ("Remote-User", "Remote-Name", "Remote-Email", "Remote-Groups", "Cookie")}
    body = (f"<!doctype html><title>echo</title><h1>Echo app</h1>"
            f"<p>Signed in as <b id=\"user\">{html.escape(seen['Remote-User'])}</b></p>"
            f"<pre id=\"seen\">{html.escape(json.dumps(seen))}</pre>").encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


ADD_USER = """
from authsvc import create_app
from authsvc.extensions import db
from authsvc.models import User, utcnow
from authsvc.services import passwords
app = create_app()
with app.app_context():
    now = utcnow()
    db.session.add(User(email="alice@example.com", username="alice", email_verified_at=now,
                        password_hash=passwords.hash_password({password!r}), password_changed_at=now))
    db.session.commit()
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The https port (nginx, both names) with authsvc and the echo app behind it."""
    import redis

    tmp = tmp_path_factory.mktemp("fwdauth")
    redis.Redis.from_url(REDIS_URL).flushdb()
    fresh_database(DATABASE)
    _certificates(tmp / "certs")
    http_port, https_port, authsvc_port = free_port(), free_port(), free_port()
    env = dict(os.environ, AUTHSVC_ENV="production", SECRET_KEY="fwdauth-test-" + "k" * 40,
               PUBLIC_URL=f"https://auth.authsvc.test:{https_port}",
               DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}",
               REDIS_URL=REDIS_URL, MAIL_WORKER="external", PROXY_FIX_X_FOR="1", BCRYPT_ROUNDS="10",
               SESSION_COOKIE_DOMAIN="authsvc.test",
               # the admin here has no second factor; with one, production's default sends his
               # first sign-in to set one up (tests/test_admin_factors.py)
               ADMIN_REQUIRE_MFA="false",
               FORWARD_AUTH_DOMAINS="app.authsvc.test,admin.authsvc.test",
               FORWARD_AUTH_RULES="app.authsvc.test=user; admin.authsvc.test=admin",
               WEB_CONCURRENCY="1", GUNICORN_THREADS="4", LOG_LEVEL="WARNING",
               AUTHSVC_ADMIN_PASSWORD=ADMIN_PASSWORD)
    for command in (["db", "upgrade"],
                    ["create-admin", "--email", "root@example.com", "--username", "boss"]):
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *command], cwd=ROOT, env=env,
                       check=True, capture_output=True)
    subprocess.run([sys.executable, "-c", ADD_USER.format(password=PASSWORD)], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    app_server = make_server("127.0.0.1", 0, echo_app, handler_class=_Quiet)
    threading.Thread(target=app_server.serve_forever, daemon=True).start()
    processes = [subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
        env=dict(env, BIND=f"127.0.0.1:{authsvc_port}", PROMETHEUS_MULTIPROC_DIR=str(tmp / "prom")),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    config = _nginx_config(tmp, authsvc_port, app_server.server_port, http_port, https_port)
    processes.append(subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(config), "-g", "daemon off;"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True))
    try:
        site = Site(https_port, tmp / "certs" / "fullchain.pem")
        assert wait_until(site.up, timeout=60), (tmp / "error.log").read_text() \
            if (tmp / "error.log").exists() else "nginx did not start"
        yield site
    finally:
        for process in processes:
            kill_group(process)
        app_server.shutdown()


class Site:
    def __init__(self, port, ca):
        self.port = port
        self.ca_file = str(ca)
        self.ca = ssl.create_default_context(cafile=self.ca_file)

    def url(self, host, path="/"):
        return f"https://{host}.authsvc.test:{self.port}{path}"

    def up(self):
        try:
            return self.request("auth", "GET", "/readyz")[0] == 200
        except OSError:
            return False

    def request(self, host, method, path, body=None, headers=None, cookie=None):
        """One HTTPS request to nginx naming `host`.authsvc.test; (status, headers, body)."""
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ca, timeout=20)
        headers = {"Host": f"{host}.authsvc.test:{self.port}", **(headers or {})}
        if cookie:
            headers["Cookie"] = cookie
        try:
            connection.request(method, path, body=body, headers=headers)
            reply = connection.getresponse()
            return reply.status, reply.getheaders(), reply.read().decode()
        finally:
            connection.close()

    def sign_in(self, login, password, next_url):
        """The sign-in form as a browser posts it; returns (status, Location, session cookie)."""
        status, headers, body = self.request("auth", "GET", "/login?next=" + urllib.parse.quote(next_url, safe=""))
        assert status == 200, body
        cookie = _cookie(headers)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "login": login, "password": password,
                                       "next": next_url})
        status, headers, body = self.request(
            "auth", "POST", "/login", body=form, cookie=cookie,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": self.url("auth", "/login")})
        return status, dict(headers).get("Location"), _cookie(headers, full=True)


def _cookie(headers, full=False):
    (value,) = [v for k, v in headers if k.lower() == "set-cookie" and v.startswith(COOKIE)]
    return value if full else value.split(";", 1)[0]


def test_signed_out_visitor_is_sent_to_sign_in_with_the_way_back(site):
    status, headers, _body = site.request("app", "GET", "/notes?id=7&view=full")
    assert status == 302
    back = site.url("app", "/notes?id=7&view=full")
    assert dict(headers)["Location"] == site.url("auth", "/login?next=") + urllib.parse.quote(back, safe="")


def test_sign_in_returns_to_the_app_which_sees_the_user_and_not_the_cookie(site):
    back = site.url("app", "/notes?id=7&view=full")
    status, location, set_cookie = site.sign_in("alice", PASSWORD, back)
    assert status == 302 and location == back
    attributes = [a.strip().lower() for a in set_cookie.split(";")]
    assert "domain=authsvc.test" in attributes and "secure" in attributes and "httponly" in attributes
    cookie = set_cookie.split(";", 1)[0]
    # a client's own Remote-* headers are replaced by nginx, whatever their spelling
    status, _headers, body = site.request("app", "GET", "/notes?id=7&view=full", cookie=f"theme=dark; {cookie}",
                                          headers={"Remote-User": "boss", "Remote-Groups": "users,admins",
                                                   "Remote_User": "boss"})
    assert status == 200, body
    seen = json.loads(html.unescape(re.search(r'<pre id="seen">(.*)</pre>', body).group(1)))
    assert seen["Remote-User"] == "alice" and seen["Remote-Name"] == "alice"
    assert seen["Remote-Email"] == "alice@example.com" and seen["Remote-Groups"] == "users"
    assert seen["Cookie"] == "theme=dark"  # the app never holds the authsvc session
    # a form posted to the app passes too (nginx's sub-request asks with GET, without the body)
    status, _headers, body = site.request("app", "POST", "/notes", body="title=x", cookie=cookie,
                                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and '"Remote-User": "alice"' in html.unescape(body)


def test_admin_host_refuses_a_user_and_admits_an_admin(site):
    _status, _location, alice = site.sign_in("alice", PASSWORD, site.url("admin"))
    status, _headers, _body = site.request("admin", "GET", "/", cookie=alice.split(";", 1)[0])
    assert status == 403
    status, location, boss = site.sign_in("boss", ADMIN_PASSWORD, site.url("admin"))
    assert status == 302 and location == site.url("admin")
    status, _headers, body = site.request("admin", "GET", "/", cookie=boss.split(";", 1)[0])
    assert status == 200 and '"Remote-Groups": "users,admins"' in html.unescape(body)


def test_forged_and_ended_cookies_are_refused(site):
    status, headers, _body = site.request("app", "GET", "/", cookie=f"{COOKIE}={'A' * 43}")
    assert status == 302 and dict(headers)["Location"].startswith(site.url("auth", "/login?next="))
    _status, _location, set_cookie = site.sign_in("alice", PASSWORD, site.url("app"))
    cookie = set_cookie.split(";", 1)[0]
    assert site.request("app", "GET", "/", cookie=cookie)[0] == 200
    status, _headers, body = site.request("auth", "GET", "/account", cookie=cookie)
    token = re.search(r'action="/logout".*?name="csrf_token" type="hidden" value="([^"]+)"', body, re.S).group(1)
    status, _headers, _body = site.request(
        "auth", "POST", "/logout", body=urllib.parse.urlencode({"csrf_token": token}), cookie=cookie,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": site.url("auth", "/account")})
    assert status == 302
    status, headers, _body = site.request("app", "GET", "/", cookie=cookie)  # the old cookie, kept
    assert status == 302 and "/login?next=" in dict(headers)["Location"]


@pytest.mark.parametrize("target", ["https://evil.example.org/", "https://app.authsvc.test.evil.org/",
                                    "http://app.authsvc.test/"])  # production: https only
def test_next_to_a_foreign_host_lands_on_the_account_page(site, target):
    status, location, _cookie_value = site.sign_in("alice", PASSWORD, target)
    assert status == 302 and location == "/account"


def _browser_missing():
    import importlib.util

    return not os.access(CHROMIUM, os.X_OK) or importlib.util.find_spec("playwright") is None


@pytest.mark.skipif(_browser_missing() and not os.environ.get("CI"),
                    reason="Chromium or playwright missing (apt-get install -y chromium; pip install playwright)")
def test_a_browser_opens_the_app_signs_in_and_lands_back_signed_in(site):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--host-resolver-rules=MAP *.authsvc.test 127.0.0.1"])
        try:
            context = browser.new_context(ignore_https_errors=True, locale="zh-CN")
            page = context.new_page()
            page.goto(site.url("app", "/notes?id=7&view=full"))
            expect(page).to_have_url(re.compile(re.escape(site.url("auth", "/login?next="))))
            expect(page.locator("#return-to")).to_contain_text("app.authsvc.test")
            page.get_by_label("邮箱或用户名").fill("alice")
            page.get_by_label("密码", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="登录", exact=True).click()  # not "使用通行密钥登录"
            expect(page).to_have_url(site.url("app", "/notes?id=7&view=full"))
            expect(page.locator("#user")).to_have_text("alice")
            # the next page of the app needs no new sign-in
            page.goto(site.url("app", "/other"))
            expect(page.locator("#user")).to_have_text("alice")
            context.close()
        finally:
            browser.close()
