"""One declaration per endpoint: `@operation(...)` on the view names its answers and errors.

With the request body (`@accepts(Model)`, inputs.py) and the authentication (bearer.py's
decorators mark `view.auth`) that is everything the OpenAPI document says about an endpoint:
openapi.py walks the API's routes and reads it from the views. Outside production
(API_CHECK_RESPONSES) every answer is checked against the declaration before it leaves, so a
test or `make run` that provokes an undocumented status, error code or field gets a 500 that
names the breach instead of a document that quietly lies.
"""

from dataclasses import dataclass

from flask import current_app, request
from pydantic import BaseModel, ValidationError

from . import replies
from .errorcodes import STATUS_CODES
from .replies import Error


@dataclass(frozen=True)
class Answer:
    """A success answer: its model (replies.py), None for no body, or a raw JSON schema."""

    model: type[BaseModel] | dict | None
    description: str
    links: dict | None = None
    csv: bool = False  # ?format=csv streams text/csv instead


NO_CONTENT = Answer(None, "Done")


@dataclass(frozen=True)
class Operation:
    op_id: str
    summary: str
    answers: dict  # status -> Answer
    errors: dict  # status -> tuple of error codes
    tag: str
    params: tuple = ()
    body: type[BaseModel] | None = None
    auth: str | None = None

    def breach(self, response):
        """Why `response` breaks this declaration, or None."""
        status = response.status_code
        if status in self.answers:
            return _answer_breach(self.answers[status], response)
        if status not in self.errors:
            return f"status {status} is not declared"
        if response.mimetype != "application/json":
            return f"an error answer of type {response.mimetype}"
        try:
            code = Error.model_validate_json(response.get_data()).error.code
        except ValidationError as exc:
            return f"the error body: {exc}"
        if code not in self.errors[status]:
            return f"error code {code} is not declared for status {status}"
        if status in (423, 429) and "Retry-After" not in response.headers:
            return f"status {status} without Retry-After"
        return None


def _answer_breach(answer, response):
    if answer.model is None:
        return "a body where none is declared" if response.get_data() else None
    if answer.csv and response.mimetype == "text/csv":
        return None
    if response.mimetype != "application/json":
        return f"an answer of type {response.mimetype}"
    if isinstance(answer.model, dict):
        return None
    try:
        answer.model.model_validate_json(response.get_data())
    except ValidationError as exc:
        return f"the {answer.model.__name__} body: {exc}"
    return None


def operation(op_id, summary, answers, *, errors=(), params=(), tag=None):
    """Declare a view's answers ({status: Answer}) and the error statuses it can answer with
    beyond those implied by its body and authentication (503 and 429 always; a body: 400 invalid_input
    and 413; a token: 401; an admin: 403). An entry of `errors` is a status (all its codes) or
    a (status, *codes) tuple. Put it right under the route decorator."""
    def decorate(view):
        body, auth = getattr(view, "body_model", None), getattr(view, "auth", None)
        view.operation = Operation(
            op_id=op_id, summary=summary, answers=dict(answers), tag=tag or op_id.split("_")[0],
            errors=_error_map(body, auth, errors), params=tuple(params), body=body, auth=auth)
        return view
    return decorate


def _error_map(body, auth, errors):
    implied = [503, (429, "rate_limited")]  # 429: a blocked client network (services/ipblocks.py)
    if body is not None:
        implied += [(400, "invalid_input"), 413]
    if auth == "user":
        implied.append((401, "unauthorized"))
    elif auth in ("recent", "admin"):
        implied.append((401, "unauthorized", "reauthentication_required"))
    if auth == "admin":
        implied.append(403)
    by_status = {}
    for entry in [*implied, *errors]:
        status, *codes = entry if isinstance(entry, tuple) else (entry,)
        by_status.setdefault(status, set()).update(codes or STATUS_CODES[status])
    return {status: tuple(c for c in STATUS_CODES[status] if c in codes)
            for status, codes in sorted(by_status.items())}


def check_answer(response):
    """after_request of the API: an answer that breaks its declaration becomes a 500 naming
    the breach (outside production only; production sends what the view made)."""
    if not current_app.config["API_CHECK_RESPONSES"] or request.method in ("HEAD", "OPTIONS"):
        return response
    view = current_app.view_functions.get(request.endpoint)
    declared = getattr(view, "operation", None)
    problem = declared.breach(response) if declared else None
    if problem is None:
        return response
    message = f"{request.method} {request.path} answered {response.status_code}: {problem}"
    current_app.logger.error("API answer breaks its declaration: %s", message)
    return current_app.response_class("API answer breaks its declaration: " + message,
                                      status=500, mimetype="text/plain")


# --- the vocabulary the views declare with ---------------------------------------------------
def param(name, where="query", schema=None, description=None):
    item = {"name": name, "in": where, "required": where == "path", "schema": schema or {"type": "string"}}
    if description:
        item["description"] = description
    return item


def page_params(maximum):
    return (param("page", schema={"type": "integer", "minimum": 1, "maximum": 10000, "default": 1}),
            param("per_page", schema={"type": "integer", "minimum": 1, "maximum": maximum}))


DAY = {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}],
       "description": "YYYY-MM-DD or an ISO 8601 time, UTC unless it has an offset; years 2-9998"}
CODE_ERRORS = ((400, "invalid_code", "code_expired"), 422, 429)
CAPTCHA_ERRORS = ((400, "captcha_required", "captcha_invalid"),)
CODE_LOGIN_OFF = 403  # LOGIN_BY_CODE=false


def _bearer(expression):
    return {"header.Authorization": f"Bearer {{{expression}}}"}


def token_links(expression="$response.body#/token"):
    """Where a fresh token leads: who am I, the session list, sign-out."""
    return {"me": {"operationId": "account_me", "parameters": _bearer(expression)},
            "sessions": {"operationId": "account_sessions", "parameters": _bearer(expression)},
            "sign_out": {"operationId": "sessions_delete_current", "parameters": _bearer(expression)}}


SIGNED_IN = Answer(replies.TokenGrant, "Signed in: a bearer token", token_links())
SENT = Answer(replies.CodeSent, "Code sent (the same answer whether or not the account exists)")


def next_step(which):
    return Answer(replies.SecondFactorChallenge, f"Second step required (second_step: {which})", {
        "second_factor": {"operationId": "sessions_second_factor",
                          "requestBody": {"challenge": "$response.body#/challenge"}}})
