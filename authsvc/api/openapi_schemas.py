"""JSON Schemas of the API's bodies (OpenAPI 3.1 `components`), used by openapi.py.

Response objects are closed (additionalProperties: false): a field the service starts sending
without a word here makes the schemathesis run (tests/fuzz) fail, so the contract stays true.
Request bodies are open: the API ignores fields it does not know.
"""

# Every error code the API answers with (authsvc/errors.py, authsvc/errorhandlers.py).
ERROR_CODES = {
    "invalid_input": "A field is missing, of the wrong type or size, or refused; see `fields`.",
    "captcha_required": "This request needs a solved captcha (captcha_id, captcha_answer).",
    "captcha_invalid": "Wrong or expired captcha answer; each captcha is single use.",
    "invalid_code": "Wrong emailed code; `remaining_attempts` says how many tries are left.",
    "code_expired": "The code expired, was used up, or was superseded by a newer one.",
    "invalid_credentials": "Unknown login or wrong password (one answer for both).",
    "unauthorized": "Missing, unknown, expired or revoked bearer token.",
    "reauthentication_required": "The token came from an emailed code alone: confirm the "
                                 "password with POST /sessions/reauthenticate first.",
    "forbidden": "Not allowed (not an admin, registration closed, code sign-in off, deactivating yourself).",
    "not_found": "No such resource.",
    "method_not_allowed": "The path exists but not with this method.",
    "conflict": "Conflicts with existing data, e.g. the username is taken; see `fields`.",
    "payload_too_large": "The request body is larger than MAX_CONTENT_LENGTH.",
    "unsupported_media_type": "Not JSON.",
    "account_locked": "Too many failed passwords; `retry_after` seconds until it unlocks.",
    "rate_limited": "Too many requests or code sends; `retry_after` seconds, also the "
                    "Retry-After header.",
    "unavailable": "Redis, the database or the mail queue cannot be reached right now.",
}

# Which codes each error status carries.
STATUS_CODES = {
    400: ("invalid_input", "captcha_required", "captcha_invalid", "invalid_code", "code_expired"),
    401: ("unauthorized", "invalid_credentials", "reauthentication_required"),
    403: ("forbidden",),
    404: ("not_found",),
    405: ("method_not_allowed",),
    409: ("conflict",),
    413: ("payload_too_large",),
    415: ("unsupported_media_type",),
    422: ("invalid_input",),
    423: ("account_locked",),
    429: ("rate_limited", "account_locked"),
    503: ("unavailable",),
}


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required=(), optional=None, **properties):
    """A closed object: every keyword is a property, all required unless named in optional."""
    optional = optional or {}
    return {"type": "object", "additionalProperties": False,
            "required": [name for name in properties if name not in optional] + list(required),
            "properties": {**properties, **optional}}


def nullable(schema):
    kind = schema["type"]
    return dict(schema, type=[kind, "null"] if isinstance(kind, str) else [*kind, "null"])


STR = {"type": "string"}
INT = {"type": "integer"}
SECONDS = {"type": "integer", "minimum": 0, "description": "seconds"}
BOOL = {"type": "boolean"}
NUMBER = {"type": "number"}
TIME = {"type": "string", "format": "date-time", "description": "ISO 8601 UTC, e.g. 2026-11-21T08:30:00Z"}
MASKED_EMAIL = {"type": "string", "description": "masked address, e.g. a***@qq.com"}


def status(value):
    return {"type": "string", "const": value}


def page_of(item):
    return obj(items={"type": "array", "items": ref(item)}, total=INT,
               page={"type": "integer", "minimum": 1}, per_page={"type": "integer", "minimum": 1})


USER = dict(id=INT, email=STR, username=STR, is_admin=BOOL, email_verified_at=nullable(TIME),
            created_at=nullable(TIME))
INVITE_STATUSES = ["active", "full", "disabled", "expired"]
MAIL_PROVIDER = obj(sent=INT, failed=INT, rejected=INT)
DASHBOARD_WINDOW = obj(registrations=INT, logins=INT, login_failures=INT, lockouts=INT,
                       codes_sent=INT, codes_used=INT,
                       code_usage_rate={"type": ["number", "null"], "minimum": 0})

SCHEMAS = {
    "Error": obj(error=obj(
        code={"type": "string", "enum": list(ERROR_CODES),
              "description": "\n".join(f"- `{c}`: {text}" for c, text in ERROR_CODES.items())},
        message={"type": "string", "description": "in the Accept-Language language (zh-CN default, en)"},
        optional={
            "fields": {"type": "object", "description": "field name -> messages",
                       "additionalProperties": {"type": "array", "items": STR}},
            "remaining_attempts": {"type": "integer", "minimum": 0},
            "retry_after": {"type": "integer", "minimum": 0, "description": "seconds"},
        })),
    "User": obj(**USER),
    "TokenGrant": obj(token=STR, expires_in=SECONDS, user=ref("User"), optional={
        "device_token": {"type": "string", "description": "send it back as `device_token` at the "
                                                          "next sign-in to be recognised"}}),
    "SecondFactorChallenge": obj(status=status("second_factor_required"), challenge=STR,
                                 second_step={"type": "string", "enum": ["code", "password"]},
                                 email=MASKED_EMAIL, expires_in=SECONDS),
    "Captcha": obj(captcha_id=STR, expires_in=SECONDS,
                   image={"type": "string", "pattern": "^data:image/png;base64,"}),
    "VerificationSent": obj(status=status("verification_sent"), email=MASKED_EMAIL,
                            expires_in=SECONDS, resend_after=SECONDS, registration_id={
                                "type": "string", "minLength": 22, "maxLength": 64,
                                "description": "this registration's own id (128 random bits): "
                                               "confirm and resend name it"}),
    "CodeSent": obj(status=status("code_sent"), email=MASKED_EMAIL, expires_in=SECONDS,
                    resend_after=SECONDS),
    "SecondFactorResent": obj(status=status("code_sent"), email=MASKED_EMAIL),
    "PasswordReset": obj(status=status("password_reset"), user=ref("User"), optional={
        "token": {"type": "string", "description": "only with AUTO_LOGIN_AFTER_RESET=true"},
        "expires_in": SECONDS}),
    "PasswordChanged": obj(status=status("password_changed")),
    "Reauthenticated": obj(status=status("ok")),
    "EmailChanged": obj(user=ref("User")),
    "Notifications": obj(new_device=BOOL),
    "Session": obj(id={"type": "string", "description": "public id: DELETE /me/sessions/{id}"},
                   kind={"type": "string", "enum": ["web", "api"]}, ip=nullable(STR),
                   device=nullable(STR), created=nullable(TIME), last_seen=nullable(TIME),
                   current=BOOL, method=nullable(STR)),
    "SessionList": obj(items={"type": "array", "items": ref("Session")}, total=INT),
    "UserSummary": obj(**USER, active=BOOL, last_login_at=nullable(TIME),
                       password_changed_at=nullable(TIME), locked=BOOL, sessions=INT),
    "UserPage": page_of("UserSummary"),
    "Invite": obj(code=STR, uses={**INT, "description": "registrations the code allows"},
                  used={**INT, "description": "registrations made with it"},
                  status={"type": "string", "enum": INVITE_STATUSES},
                  expires=nullable({"type": "string", "format": "date",
                                    "description": "the last day (UTC) the code works, as given"}),
                  created_at=nullable(TIME), created_by=nullable(STR),
                  users={"type": "array", "items": obj(id=nullable(INT), username=nullable(STR),
                                                       used_at=nullable(TIME))}),
    "InviteList": obj(items={"type": "array", "items": ref("Invite")}, total=INT),
    "InvitesCreated": obj(items={"type": "array", "items": ref("Invite")}),
    "AuditEvent": obj(id=INT, at=nullable(TIME), event=STR, outcome=STR, user_id=nullable(INT),
                      actor_id=nullable(INT), email=nullable(STR), ip=nullable(STR),
                      user_agent=nullable(STR), detail={"type": "object"}),
    "AuditPage": page_of("AuditEvent"),
    "MailStats": obj(sent=INT, failed=INT, retried=INT, fell_back=INT, gave_up=INT,
                     suppressed=INT, expired=INT,
                     success_rate={"type": ["number", "null"], "minimum": 0, "maximum": 1},
                     by_provider={"type": "object", "additionalProperties": MAIL_PROVIDER},
                     latency_seconds_avg=nullable(NUMBER),
                     latency_buckets={"type": "object", "additionalProperties": INT},
                     circuits_open={"type": "array", "items": {"enum": ["primary", "fallback"]}},
                     queue_depth={"type": "integer", "minimum": 0}),
    "Dashboard": obj(today=DASHBOARD_WINDOW, **{"7d": DASHBOARD_WINDOW}, users=INT),
}


def request_schema(model):
    """The request body schema of a pydantic model (schemas.py), without pydantic's titles."""
    return _untitled(model.model_json_schema())


def _untitled(node):
    if isinstance(node, dict):
        return {k: _untitled(v) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [_untitled(v) for v in node]
    return node
