"""GET /api/v1/openapi.json: served, a valid OpenAPI 3.1 document, and true to the code
(every route documented, each request body declared once by its view, every error code listed).
What the answers look like is checked by the schemathesis runs in tests/fuzz."""

import json
import re

import jsonschema_rs
import schemathesis

from authsvc import errors
from authsvc.api.errorcodes import ERROR_CODES, STATUS_CODES
from authsvc.api.openapi import request_schema
from authsvc.errorhandlers import HTTP_CODES

METHODS = {"get", "post", "delete", "put", "patch"}


def served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_served_document_is_the_one_built_from_the_apps_routes(app, client):
    from authsvc.api.openapi import build, document

    assert document() is document()
    assert served(client) == json.loads(json.dumps(document())) == json.loads(json.dumps(build(app)))


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


def test_every_route_is_in_the_document_with_its_path_parameters(client):
    doc = served(client)
    assert len([op for item in doc["paths"].values() for op in item]) == 54  # + 5 second factors, + 7 passkeys, + 1 admin reset (13), + 1 end-others (14), + 3 IP blocks, + clear-codes (15), + 3 OIDC clients (17)
    deactivate = doc["paths"]["/admin/users/{user_id}/deactivate"]["post"]
    assert deactivate["parameters"] == [{"name": "user_id", "in": "path", "required": True, "schema": {
        "type": "integer", "minimum": 1, "maximum": 2**31 - 1}}]
    assert deactivate["security"] == [{"bearerAuth": []}]
    assert set(deactivate["responses"]) == {"200", "401", "403", "404", "429", "503"}  # 429: a blocked network


def app_with_rogue_route(make_app, view, check=True):
    """A fresh app with one more route in the API blueprint's name space."""
    app = make_app(API_CHECK_RESPONSES=check)
    app.add_url_rule("/api/v1/rogue", "api.rogue", view, methods=["GET"])
    return app


def test_a_route_without_a_declaration_stops_the_document(make_app):
    from authsvc.api.openapi import build

    app = app_with_rogue_route(make_app, lambda: {"ok": True})
    try:
        build(app)
    except RuntimeError as exc:
        assert "/api/v1/rogue" in str(exc)
    else:
        raise AssertionError("an undeclared route was left out of the document silently")


def test_an_answer_that_breaks_its_declaration_is_stopped_outside_production(make_app):
    from authsvc.api import replies
    from authsvc.api.declare import Answer, operation
    from authsvc.errors import Conflict

    @operation("rogue", "A view that lies", {200: Answer(replies.User, "An account")}, errors=(404,))
    def rogue():
        from flask import request
        if request.args.get("fail"):
            raise Conflict()
        return {"id": 1, "email": "a@b.cn", "username": "a", "is_admin": False,
                "email_verified_at": "2026-12-02T08:00:00", "created_at": None, "extra": 1}

    checked = app_with_rogue_route(make_app, rogue).test_client()
    answer = checked.get("/api/v1/rogue")
    assert answer.status_code == 500
    text = answer.get_data(as_text=True)
    assert "GET /api/v1/rogue answered 200" in text and "extra" in text
    assert "email_verified_at" in text  # a time without an offset
    answer = checked.get("/api/v1/rogue?fail=1")
    assert answer.status_code == 500 and "status 409 is not declared" in answer.get_data(as_text=True)
    unchecked = app_with_rogue_route(make_app, rogue, check=False).test_client()
    assert unchecked.get("/api/v1/rogue").status_code == 200


def test_every_error_code_is_documented():
    raised = {cls.code for cls in vars(errors).values()
              if isinstance(cls, type) and issubclass(cls, errors.ServiceError) and cls is not errors.ServiceError}
    assert raised | set(HTTP_CODES.values()) == set(ERROR_CODES)
    assert {c for codes in STATUS_CODES.values() for c in codes} == set(ERROR_CODES)


def test_every_body_is_the_closed_schema_of_its_views_model(client):
    bodies = [op["requestBody"]["content"]["application/json"]["schema"]
              for item in served(client)["paths"].values() for op in item.values() if "requestBody" in op]
    assert len(bodies) == 27  # + totp confirm, totp remove, recovery codes; + 5 for passkeys; + admin reset-factors; + IP block; + OIDC client
    assert all(schema["additionalProperties"] is False for schema in bodies)


def test_every_answer_schema_is_closed(client):
    schemas = served(client)["components"]["schemas"]
    assert {"Error", "TokenGrant", "UserSummary", "Dashboard", "MailStats"} <= set(schemas)
    assert all(schema["additionalProperties"] is False for schema in schemas.values())
    assert "7d" in schemas["Dashboard"]["required"]


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
