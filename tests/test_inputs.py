"""Bad, missing, oversized or malicious input: a precise 4xx in the documented shape, never a 500."""

import pytest


def _error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()["error"]
    assert body["code"] == code and body["message"]
    return body


def test_malformed_json(client):
    response = client.post("/api/v1/registrations", data='{"email": ', content_type="application/json",
                           headers={"Accept-Language": "en"})
    body = _error(response, 400, "invalid_input")
    assert body["message"] == "The request body is not valid JSON."


@pytest.mark.parametrize("payload", ['["a", "b"]', "null", "", '"text"'])
def test_json_that_is_not_an_object(client, payload):
    response = client.post("/api/v1/registrations", data=payload, content_type="application/json",
                           headers={"Accept-Language": "en"})
    body = _error(response, 400, "invalid_input")
    assert body["message"] == "The request body must be a JSON object."


def test_wrong_content_type(client):
    response = client.post("/api/v1/registrations", data="email=a@example.com")
    body = _error(response, 400, "invalid_input")
    assert "application/json" in body["message"]


def test_wrong_types_name_the_fields(api):
    response = api.post("/registrations", json={"email": 5, "username": ["x"], "password": {"a": 1}})
    body = _error(response, 400, "invalid_input")
    assert set(body["fields"]) == {"email", "username", "password"}


def test_missing_fields(api):
    body = _error(api.post("/registrations", json={}), 400, "invalid_input")
    assert set(body["fields"]) == {"email", "username", "password"}


def test_overlong_field(api):
    body = _error(api.post("/registrations", json={"email": "a" * 5000 + "@x.com", "username": "abc",
                                                   "password": "correct horse"}), 400, "invalid_input")
    assert "email" in body["fields"]


def test_oversized_body(client):
    response = client.post("/api/v1/registrations", data="{" + " " * 70_000 + "}",
                           content_type="application/json")
    _error(response, 413, "payload_too_large")


def test_unknown_api_route_and_wrong_method(client):
    _error(client.get("/api/v1/nothing-here"), 404, "not_found")
    _error(client.get("/api/v1/registrations"), 405, "method_not_allowed")


@pytest.mark.parametrize("payload", [
    "alice@example.com\r\nBcc: x@example.com",
    "alice@example.com\nX-Injected: 1",
    "alice\x00@example.com",
    "<script>alert(1)</script>@example.com",
    "' OR 1=1 --@example.com",
    "a@b",
])
def test_malicious_addresses_are_refused(api, mailbox, payload):
    response = api.register(email=payload)
    assert response.status_code in (400, 422)
    assert response.get_json()["error"]["code"] == "invalid_input"
    assert mailbox.messages() == []


def test_code_format(api):
    for code in ("12345", "abcdef", "1234567", ""):
        response = api.confirm_registration("a@example.com", code)
        assert response.status_code in (400, 422), code
        assert response.get_json()["error"]["code"] == "invalid_input"


def test_html_pages_answer_404_as_a_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_unexpected_exception_has_no_traceback(app):
    @app.get("/boom-test")
    def boom():
        raise RuntimeError("secret internals")

    client = app.test_client()
    page = client.get("/boom-test")
    assert page.status_code == 500
    assert "secret internals" not in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
