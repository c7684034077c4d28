"""The API described as OpenAPI 3.1, served at GET /api/v1/openapi.json, written from the views.

Every API route's view declares all there is to say about it: its request body (`@accepts`,
a model from schemas.py), its authentication (bearer.py's decorators), its answers and errors
(`@operation`, declare.py, with answer models from replies.py). This module walks the routes
and writes that down; a route without a declaration stops the document from being built. tests/fuzz
runs schemathesis against the document, and outside production every answer is checked against
its declaration (declare.check_answer), so the document describes what is really sent.
"""

import re
from functools import cache

from flask import Flask, jsonify
from pydantic.json_schema import models_json_schema

from . import bp
from .declare import Answer, operation
from .errorcodes import ERROR_CODES
from .replies import Error

ERROR_DESCRIPTIONS = {
    400: "Malformed: not a JSON object, a field missing or of the wrong type or size, "
         "a wrong captcha or code",
    401: "Not signed in, or wrong credentials", 403: "Forbidden", 404: "Not found",
    409: "Conflict with existing data", 413: "Request body too large",
    422: "A field's value is refused (see `fields`)", 423: "Account locked after failed passwords",
    429: "Rate limited: wait Retry-After seconds", 503: "Redis, database or mail queue unavailable",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "required": True,
                               "schema": {"type": "integer", "minimum": 0}}}
REF = "#/components/schemas/{model}"
PATH_ARGUMENT = re.compile(r"<(?:([^:>]+):)?([^>]+)>")
CONVERTER_SCHEMAS = {"int": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}

DESCRIPTION = """The JSON API of authsvc. Requests and responses are JSON; authenticated calls
send `Authorization: Bearer <token>`. Every error has one shape,
`{"error": {"code": ..., "message": ..., ...}}`; messages follow Accept-Language (zh-CN, en).
Error codes: """ + ", ".join(f"`{c}`" for c in ERROR_CODES) + ". See docs/api.md."


@cache
def document():
    """The document of the API blueprint's routes, built once (shared: callers must not modify
    it). It needs no configured app: the routes and their declarations are all it reads."""
    bare = Flask(__name__)
    bare.register_blueprint(bp)
    return build(bare)


def build(app):
    paths, models = {}, {Error}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(bp.name + "."):
            continue
        declared = getattr(app.view_functions[rule.endpoint], "operation", None)
        if declared is None:
            raise RuntimeError(f"{rule.rule} ({rule.endpoint}) has no @operation declaration")
        path, params = _path(rule.rule.removeprefix(bp.url_prefix))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(declared, params)
        models.update(a.model for a in declared.answers.values() if isinstance(a.model, type))
    _refs, schemas = models_json_schema([(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
                                        ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {"title": "authsvc API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": bp.url_prefix}],
        "paths": paths,
        "components": {
            "schemas": _clean(schemas["$defs"]),
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "A token from POST /registrations/confirm, /sessions, "
                               "/sessions/second-factor or /sessions/code (API_TOKEN_TTL)"}},
        },
    }


def request_schema(model):
    """The request body schema of a pydantic model (schemas.py), inline and without titles."""
    return _clean(model.model_json_schema())


def _path(rule):
    """'/admin/users/<int:user_id>' -> '/admin/users/{user_id}' and its path parameters."""
    params = [{"name": name, "in": "path", "required": True,
               "schema": CONVERTER_SCHEMAS.get(converter, {"type": "string"})}
              for converter, name in PATH_ARGUMENT.findall(rule)]
    return PATH_ARGUMENT.sub(r"{\2}", rule), params


def _operation(declared, path_params):
    responses = {str(status): _answer(answer) for status, answer in declared.answers.items()}
    for status, codes in declared.errors.items():
        responses[str(status)] = _error(status, codes)
    result = {"operationId": declared.op_id, "summary": declared.summary, "tags": [declared.tag],
              "responses": responses}
    if path_params or declared.params:
        result["parameters"] = [*path_params, *declared.params]
    if declared.body is not None:
        result["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": request_schema(declared.body)}}}
    if declared.auth:
        result["security"] = [{"bearerAuth": []}]
    return result


def _answer(answer):
    result = {"description": answer.description}
    if answer.model is not None:
        schema = answer.model if isinstance(answer.model, dict) else {"$ref": REF.format(model=answer.model.__name__)}
        result["content"] = {"application/json": {"schema": schema}}
        if answer.csv:
            result["content"]["text/csv"] = {"schema": {"type": "string"}}
    if answer.links:
        result["links"] = answer.links
    return result


def _error(status, codes):
    """An error answer: the shared Error shape, narrowed to the codes this operation can send."""
    schema = {"allOf": [{"$ref": REF.format(model="Error")}, {"properties": {"error": {"properties": {
        "code": {"enum": list(codes)}}}}}]}
    answer = {"description": ERROR_DESCRIPTIONS[status] + " — " + ", ".join(f"`{c}`" for c in codes),
              "content": {"application/json": {"schema": schema}}}
    if status in (423, 429):
        answer["headers"] = RETRY_AFTER
    return answer


def _clean(node):
    """pydantic's JSON Schema without its titles and `"default": null` annotations."""
    if isinstance(node, dict):
        return {k: _clean(v) for k, v in node.items()
                if k != "title" and not (k == "default" and v is None)}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


@bp.get("/openapi.json")
@operation("openapi", "This document", {
    200: Answer({"type": "object", "required": ["openapi", "paths"]}, "OpenAPI 3.1")})
def openapi_json():
    return jsonify(document())
