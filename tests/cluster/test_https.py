"""HTTPS in the shipped shape: Debian's nginx (/usr/sbin/nginx) with docker/nginx.conf itself
(only the upstream, the listen addresses and the certificate folder put in for this machine)
and a `make dev-certs` pair, in front of two production gunicorn instances on one Redis and one
PostgreSQL. The client connects from 127.0.0.2, so the address the app records tells whether
it took nginx's X-Forwarded-For (127.0.0.2), the socket (127.0.0.1) or a forged header."""

import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import urllib.parse

import pytest

from ..support import free_port, wait_until
from ..support.checkout import ROOT, kill_group
from ..support.nginx import authsvc_site, nginx_config
from .test_cluster import _answers, fresh_database  # noqa: F401 - importing it skips without Redis/PostgreSQL

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DATABASE = "authsvc_https"
REDIS_URL = "redis://127.0.0.1:6379/11"
PASSWORD = "correct horse battery"
CLIENT_IP = "127.0.0.2"

pytestmark = [pytest.mark.cluster, pytest.mark.skipif(
    not os.path.exists(NGINX) and not os.environ.get("CI"),
    reason="nginx missing: apt-get install -y nginx (.ci/run does)")]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(https port, http port, CA file) of nginx in front of two production instances."""
    import redis

    tmp = tmp_path_factory.mktemp("https")
    redis.Redis.from_url(REDIS_URL).flushdb()
    fresh_database(DATABASE)
    certs = tmp / "certs"
    subprocess.run(["make", "-s", "dev-certs", f"CERTS={certs}"], cwd=ROOT, check=True,
                   capture_output=True)
    env = dict(os.environ, AUTHSVC_ENV="production", SECRET_KEY="https-test-" + "k" * 40,
               PUBLIC_URL="https://accounts.example.test",
               DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}",
               REDIS_URL=REDIS_URL, MAIL_WORKER="external", PROXY_FIX_X_FOR="1",
               WEB_CONCURRENCY="1", GUNICORN_THREADS="4", LOG_LEVEL="WARNING",
               AUTHSVC_ADMIN_PASSWORD=PASSWORD)
    for command in (["db", "upgrade"],
                    ["create-admin", "--email", "root@example.com", "--username", "boss"]):
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *command], cwd=ROOT, env=env,
                       check=True, capture_output=True)
    ports = [free_port(), free_port()]
    processes = [subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
        env=dict(env, BIND=f"127.0.0.1:{port}", PROMETHEUS_MULTIPROC_DIR=str(tmp / f"prom-{port}")),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True) for port in ports]
    http_port, https_port = free_port(), free_port()
    config = nginx_config(tmp, {"authsvc.conf": authsvc_site(ports, http_port, https_port, certs)})
    nginx = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(config), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    processes.append(nginx)
    try:
        ca = ssl.create_default_context(cafile=str(certs / "fullchain.pem"))
        assert wait_until(lambda: _up(https_port, ca), timeout=60), (tmp / "error.log").read_text() \
            if (tmp / "error.log").exists() else "nginx did not start"
        yield https_port, http_port, ca
    finally:
        for process in processes:
            kill_group(process)


def _up(port, ca):
    try:
        return request(port, ca, "GET", "/readyz", source=None)[0] == 200
    except OSError:
        return False


def request(port, ca, method, path, body=None, headers=None, source=CLIENT_IP):
    """One HTTPS request from `source`; returns (status, headers as a list, body)."""
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=ca, timeout=20,
                                             source_address=(source, 0) if source else None)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, reply.getheaders(), reply.read().decode()
    finally:
        connection.close()


def cookies_set(headers):
    return [value for name, value in headers if name.lower() == "set-cookie"]


def test_port_80_redirects_to_https(site):
    _https, http_port, _ca = site
    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
    connection.request("GET", "/login?next=%2Faccount")
    reply = connection.getresponse()
    assert reply.status == 301
    assert reply.getheader("Location") == "https://127.0.0.1/login?next=%2Faccount"
    connection.close()


def test_https_answers_with_one_hsts_header(site):
    port, _http, ca = site
    status, headers, _body = request(port, ca, "GET", "/login")
    assert status == 200
    hsts = [value for name, value in headers if name.lower() == "strict-transport-security"]
    assert hsts == ["max-age=31536000; includeSubDomains"]


def _login_page(port, ca):
    status, headers, body = request(port, ca, "GET", "/login")
    assert status == 200
    (cookie,) = cookies_set(headers)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1)
    return cookie, token


def _submit_login(port, ca, cookie, token, referer, extra_headers=None):
    form = urllib.parse.urlencode({"csrf_token": token, "login": "boss", "password": PASSWORD,
                                   "next": ""})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": referer,
               "Cookie": cookie.split(";", 1)[0], **(extra_headers or {})}
    return request(port, ca, "POST", "/login", body=form, headers=headers)


def test_the_session_cookie_is_secure_host_prefixed_and_a_form_signs_in(site):
    """The shipped compose served plain HTTP: the Secure __Host- cookie never came back and
    every form failed CSRF. Over nginx's TLS it comes back and the sign-in form works."""
    port, _http, ca = site
    cookie, token = _login_page(port, ca)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert cookie.startswith("__Host-authsvc_session=")
    assert "secure" in attributes and "httponly" in attributes and "path=/" in attributes
    assert not any(a.startswith("domain=") for a in attributes)  # what __Host- demands
    status, headers, _body = _submit_login(port, ca, cookie, token, f"https://127.0.0.1:{port}/login")
    assert status == 302, _body
    (signed_in,) = cookies_set(headers)
    status, _headers, body = request(port, ca, "GET", "/account",
                                     headers={"Cookie": signed_in.split(";", 1)[0]})
    assert status == 200 and "boss" in body


def test_forwarded_for_is_nginx_view_of_the_client_never_a_forged_one(site):
    port, _http, ca = site
    forged = {"X-Forwarded-For": "6.6.6.6, 7.7.7.7", "Content-Type": "application/json"}
    status, _headers, body = request(port, ca, "POST", "/api/v1/sessions", headers=forged,
                                     body='{"login": "boss", "password": "%s"}' % PASSWORD)
    assert status == 200, body
    token = json.loads(body)["token"]
    status, _headers, body = request(port, ca, "GET", "/api/v1/me/sessions",
                                     headers={"Authorization": f"Bearer {token}"})
    (current,) = [item for item in json.loads(body)["items"] if item["current"]]
    # one hop: nginx's $remote_addr (the client, 127.0.0.2), not the socket (127.0.0.1) nor 6/7.x
    assert current["ip"] == CLIENT_IP


def test_forwarded_proto_is_nginx_scheme_never_a_forged_one(site):
    """The app must see https (from nginx), whatever the client claims: over https Flask-WTF
    also checks that the Referer is this very https origin, so a forged `http` that reached the
    app would switch that check off and let an http Referer pass."""
    port, _http, ca = site
    cookie, token = _login_page(port, ca)
    status, _headers, body = _submit_login(port, ca, cookie, token, f"http://127.0.0.1:{port}/login",
                                           {"X-Forwarded-Proto": "http"})
    assert status == 400, body


def test_a_browser_signs_in_through_https(site):
    """Chromium through nginx's TLS: the __Host- cookie is set Secure, comes back on the form's
    POST (CSRF passes) and the account page opens signed in."""
    from ..browser.availability import CHROMIUM, missing

    if missing():
        if os.environ.get("CI"):
            pytest.fail("Chromium or playwright missing in CI")
        pytest.skip("Chromium or playwright missing")
    from playwright.sync_api import sync_playwright

    from ..browser.fixtures import CHROMIUM_ARGS

    port, _http, _ca = site
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:  # the pair is self-signed for 127.0.0.1: the browser is told to accept it
            context = browser.new_context(ignore_https_errors=True, locale="en-US")
            page = context.new_page()
            page.goto(f"https://127.0.0.1:{port}/login")
            page.fill("input[name=login]", "boss")
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("button.primary[type=submit]")
            assert page.url.startswith(f"https://127.0.0.1:{port}/account"), page.inner_text("main")
            assert "boss" in page.content()
            (cookie,) = [c for c in context.cookies() if c["name"].endswith("authsvc_session")]
            assert cookie["name"] == "__Host-authsvc_session" and cookie["secure"] and cookie["httpOnly"]
        finally:
            browser.close()
