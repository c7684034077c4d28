"""GET /api/v1/openapi.json: served, a valid OpenAPI 3.1 document, and true to the code
(every route documented, request bodies as json_body() checks them, every error code listed).
What the answers look like is checked by the schemathesis runs in tests/fuzz."""

import json
import re

import jsonschema_rs
import pytest
import schemathesis
from flask import request

from authsvc import errors
from authsvc.api import account, admin, registration, sessions
from authsvc.api.openapi import document
from authsvc.api.openapi_schemas import ERROR_CODES, STATUS_CODES, request_schema
from authsvc.errorhandlers import HTTP_CODES
from authsvc.extensions import db
from authsvc.models import User

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


class Recorded(Exception):
    pass


def essentials(schema):
    """What json_body() enforces: required names, types, lengths (no descriptions, no ranges
    the services check later)."""
    return {"required": sorted(schema["required"]),
            "properties": {name: {k: v for k, v in prop.items() if k in ("type", "maxLength", "minLength")}
                           for name, prop in schema["properties"].items()}}


@pytest.fixture
def admin_token(api, register_user, app):
    user, token = register_user(email="root@example.com", username="rootadmin")
    with app.app_context():
        db.session.get(User, user["id"]).is_admin = True
        db.session.commit()
    return token


def test_request_bodies_match_what_the_views_parse(client, api, admin_token, monkeypatch):
    """Call each operation that has a body with json_body() replaced by a recorder."""
    specs = {}

    def recorder(**spec):
        specs[request.path] = spec
        raise Recorded()

    for module in (account, admin, registration, sessions):
        monkeypatch.setattr(module, "json_body", recorder)
    doc = served(client)
    expected = {}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS and "requestBody" in operation:
                expected["/api/v1" + path] = operation["requestBody"]["content"]["application/json"]["schema"]
                try:
                    api.call(method.upper(), path, json={}, token=admin_token)
                except Recorded:
                    pass
    assert set(specs) == set(expected)
    for path, spec in specs.items():
        assert essentials(request_schema(**spec)) == essentials(expected[path]), path


def test_docs_list_every_setting_and_error_code():
    from pathlib import Path

    from authsvc.config import SETTINGS

    text = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    assert [name for name in SETTINGS if f"`{name}`" not in text] == []
    assert [code for code in ERROR_CODES if f"`{code}`" not in text] == []
