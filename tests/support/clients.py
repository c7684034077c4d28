"""Clients for the tests: the JSON API, a form-posting browser, and a service bundling both."""

from . import Mailbox, csrf_from
from .pow import solve_pow
from .state import CAPTCHA_TEXT

ADMIN_PASSWORD = "the admin passphrase"


def create_admin(app, email="root@example.com", username="boss", password=ADMIN_PASSWORD):
    """The first admin, made the way an operator does: the CLI, the password from the env."""
    result = app.test_cli_runner().invoke(args=["create-admin", "--email", email, "--username", username],
                                          env={"AUTHSVC_ADMIN_PASSWORD": password})
    assert result.exit_code == 0, result.output
    return result


# registration_id of the newest registration started per address (any Api in the test), so
# that tests about something else can confirm or resend without threading the id through.
REGISTRATIONS = {}


def _address_key(email):
    import unicodedata

    return unicodedata.normalize("NFKC", email or "").strip().lower()


class Api:
    """JSON calls against /api/v1 with an optional bearer token."""

    def __init__(self, client):
        self.client = client

    def call(self, method, path, json=None, token=None, ip=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        environ = {"REMOTE_ADDR": ip} if ip else {}
        response = self.client.open(f"/api/v1{path}", method=method, json=json, headers=headers,
                                    environ_base=environ, **kwargs)
        if path == "/registrations" and response.status_code == 202 and isinstance(json, dict):
            REGISTRATIONS[_address_key(json.get("email"))] = response.get_json()["registration_id"]
        return response

    def post(self, path, json=None, **kwargs):
        return self.call("POST", path, json=json if json is not None else {}, **kwargs)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)

    def captcha(self, ip=None):
        """A fresh captcha, solved: its id and (test-fixed) answer, and/or the proof of work
        done by docs/api.md's example, as CAPTCHA_MODE asks."""
        response = self.post("/captcha", ip=ip)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        solved = {}
        if "image" in body:
            solved.update(captcha_id=body["captcha_id"], captcha_answer=CAPTCHA_TEXT)
        if "pow" in body:
            solved["captcha_pow"] = solve_pow(body["pow"])
        return solved

    def register(self, email="alice@example.com", username="alice",
                 password="correct horse battery", ip=None, headers=None, **extra):
        body = {"email": email, "username": username, "password": password}
        body.update(self.captcha(ip=ip))
        body.update(extra)
        return self.post("/registrations", json=body, ip=ip, headers=headers)

    def registration_id(self, email):
        return REGISTRATIONS.get(_address_key(email), "never-started")

    def confirm_registration(self, email, code, **kwargs):
        """Confirm the newest registration this test started for the address."""
        return self.post("/registrations/confirm", json={
            "email": email, "code": code, "registration_id": self.registration_id(email)}, **kwargs)

    def resend_registration(self, email, **kwargs):
        return self.post("/registrations/resend", json={
            "email": email, "registration_id": self.registration_id(email)}, **kwargs)


def make_user(api, mailbox, email="alice@example.com", username="alice",
              password="correct horse battery"):
    """Register and confirm an account through the API; returns (user json, token)."""
    response = api.register(email=email, username=username, password=password)
    assert response.status_code == 202, response.get_json()
    code = mailbox.code(email)
    confirmed = api.confirm_registration(email, code)
    assert confirmed.status_code == 201, confirmed.get_json()
    body = confirmed.get_json()
    return body["user"], body["token"]


class Browser:
    """The Flask test client used like a browser: fetch the form, post it with its CSRF token."""

    def __init__(self, client):
        self.client = client

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def submit(self, path, data, page=None, captcha=False, **kwargs):
        """GET the page (for its CSRF token and, like a browser, its captcha), then POST."""
        html = self.client.get(page or path).get_data(as_text=True)
        data = dict(data, csrf_token=csrf_from(html))
        if captcha:
            assert self.client.get("/captcha.png").status_code == 200
            data.setdefault("captcha", CAPTCHA_TEXT)
        return self.client.post(path, data=data, **kwargs)


class Service:
    """An app with its own API client, browser and mailbox (for tests needing other settings)."""

    def __init__(self, app, smtp_server):
        self.app = app
        self.api = Api(app.test_client())
        self.browser = Browser(app.test_client())
        self.mailbox = Mailbox(app, smtp_server)

    def register_user(self, **kwargs):
        return make_user(self.api, self.mailbox, **kwargs)
