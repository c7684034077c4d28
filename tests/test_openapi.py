"""GET /api/v1/openapi.json: served, a valid OpenAPI 3.1 document, and true to the code
(every route documented, each request body declared once by its view, every error code listed).
What the answers look like is checked by the schemathesis runs in tests/fuzz."""

import json
import re

import jsonschema_rs
import schemathesis

from authsvc import errors
from authsvc.api import admin
from authsvc.api.openapi import document
from authsvc.api.openapi_schemas import ERROR_CODES, STATUS_CODES, request_schema
from authsvc.errorhandlers import HTTP_CODES

METHODS = {"get", "post", "delete", "put", "patch"}


def served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_served_document_is_the_module_document(client):
    assert served(client) == json.loads(json.dumps(document()))


def test_document_is_valid_openapi_3_1(client):
    doc = served(client)
    assert doc["openapi"].startswith("3.1")
    schemathesis.openapi.from_dict(doc).validate()  # the OpenAPI 3.1 meta-schema
    for name, schema in doc["components"]["schemas"].items():
        jsonschema_rs.meta.validate(schema)  # JSON Schema 2020-12
    text = json.dumps(doc)
    for target in set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text)):
        assert target in doc["components"]["schemas"], target
    operation_ids = [op["operationId"] for item in doc["paths"].values()
                     for method, op in item.items() if method in METHODS]
    assert len(operation_ids) == len(set(operation_ids))


def documented_operations(doc):
    return {(method.upper(), path) for path, item in doc["paths"].items()
            for method in item if method in METHODS}


def routed_operations(app):
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        paths = [path]
        if path.endswith("/{action}"):  # one view for the user actions; documented one by one
            paths = [path.replace("{action}", a) for a in [*admin.ACTIONS, "send-reset"]]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.update((method, p) for p in paths)
    return found


def test_every_route_is_documented_and_nothing_else(app, client):
    assert routed_operations(app) == documented_operations(served(client))


def test_every_error_code_is_documented():
    raised = {cls.code for cls in vars(errors).values()
              if isinstance(cls, type) and issubclass(cls, errors.ServiceError) and cls is not errors.ServiceError}
    assert raised | set(HTTP_CODES.values()) == set(ERROR_CODES)
    assert {c for codes in STATUS_CODES.values() for c in codes} == set(ERROR_CODES)


def test_every_body_is_declared_once_by_its_view(app, client):
    """A view that reads a JSON body declares it with @accepts(Model); the document's request
    body is that model's schema and nothing else (no second declaration to keep in step)."""
    doc = served(client)
    adapter = app.url_map.bind("localhost")
    seen = 0
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            url = "/api/v1" + re.sub(r"\{[^}]+\}", "1", path)
            endpoint, _args = adapter.match(url, method=method.upper())
            model = getattr(app.view_functions[endpoint], "body_model", None)
            if model is None:
                assert "requestBody" not in operation, (method, path)
                continue
            seen += 1
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert schema == request_schema(model), (method, path)
            assert schema["additionalProperties"] is False, (method, path)
    assert seen == 16


def test_a_body_with_extra_or_mistyped_fields_names_each_one(api):
    answer = api.post("/sessions", json={"login": 7, "password": "x" * 5000, "remember": True})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["fields"] == {
        "login": ["Must be a string."], "password": ["At most 4096 characters."],
        "remember": ["Unknown field."]} or set(answer.get_json()["error"]["fields"]) == {"login", "password", "remember"}
    english = api.post("/sessions", json={"login": 7, "password": "x" * 5000, "remember": True},
                       headers={"Accept-Language": "en"}).get_json()["error"]["fields"]
    assert english == {"login": ["Must be a string."], "password": ["At most 4096 characters."],
                       "remember": ["Unknown field."]}


def test_docs_list_every_setting_and_error_code():
    from pathlib import Path

    from authsvc.config import SETTINGS

    text = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    assert [name for name in SETTINGS if f"`{name}`" not in text] == []
    assert [code for code in ERROR_CODES if f"`{code}`" not in text] == []
