"""The API described as OpenAPI 3.1, served at GET /api/v1/openapi.json.

Each operation is one `operation()` call below: the view whose `@accepts(Model)` declares its
request body (the schema comes from that model, schemas.py), its success answers, and the
error statuses it can answer with. Schemas are in openapi_schemas.py. tests/fuzz runs
schemathesis against this document: every status, content type, body and required header the
API answers with must be documented here.
"""

from flask import jsonify

from . import account, admin, bp, recovery, registration, sessions
from .openapi_schemas import ERROR_CODES, SCHEMAS, STATUS_CODES, ref, request_schema

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


def error(status, *codes):
    """An error response whose body is the shared Error shape, with `codes` allowed."""
    codes = codes or STATUS_CODES[status]
    schema = {"allOf": [ref("Error"), {"properties": {"error": {"properties": {
        "code": {"enum": list(codes)}}}}}]}
    answer = {"description": ERROR_DESCRIPTIONS[status] + " — " + ", ".join(f"`{c}`" for c in codes),
              "content": {"application/json": {"schema": schema}}}
    if status in (423, 429):
        answer["headers"] = RETRY_AFTER
    return answer


def json_answer(description, schema, links=None):
    answer = {"description": description, "content": {"application/json": {"schema": schema}}}
    if links:
        answer["links"] = links
    return answer


def operation(op_id, summary, ok, *, body=None, auth=None, errors=(), params=(), tag=None):
    """One operation object. ok: {status: response}; body: the view, whose `body_model` is its
    request body; auth: None, "user", "recent" or "admin"; errors: statuses (or
    (status, *codes) tuples) beyond those implied by body and auth."""
    responses = dict(ok)
    implied = [503]
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
    for status in sorted(by_status):
        responses[str(status)] = error(status, *[c for c in STATUS_CODES[status] if c in by_status[status]])
    result = {"operationId": op_id, "summary": summary, "tags": [tag or op_id.split("_")[0]],
              "responses": responses}
    if params:
        result["parameters"] = list(params)
    if body is not None:
        result["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": request_schema(body.body_model)}}}
    if auth:
        result["security"] = [{"bearerAuth": []}]
    return result


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
USER_ID = param("user_id", "path", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})
SENT = {"202": json_answer("Code sent (the same answer whether or not the account exists)", ref("CodeSent"))}
NO_CONTENT = {"204": {"description": "Done"}}
SUMMARY = {"200": json_answer("The account as the admin sees it", ref("UserSummary"))}
CODE_ERRORS = ((400, "invalid_code", "code_expired"), 422, 429)
CAPTCHA_ERRORS = ((400, "captcha_required", "captcha_invalid"),)
CODE_LOGIN_OFF = 403  # LOGIN_BY_CODE=false


def bearer(expression):
    return {"header.Authorization": f"Bearer {{{expression}}}"}


def token_links(expression="$response.body#/token"):
    """Where a fresh token leads: who am I, the session list, sign-out."""
    return {"me": {"operationId": "account_me", "parameters": bearer(expression)},
            "sessions": {"operationId": "account_sessions", "parameters": bearer(expression)},
            "sign_out": {"operationId": "sessions_delete_current", "parameters": bearer(expression)}}


def signed_in():
    return json_answer("Signed in: a bearer token", ref("TokenGrant"), token_links())


def admin_action(name, summary, errors=()):
    return operation(f"admin_user_{name.replace('-', '_')}", summary, SUMMARY, auth="admin",
                     errors=(404, *errors), params=(USER_ID,), tag="admin")


PATHS = {
    "/captcha": {"post": operation("registration_captcha", "A new captcha picture (single use, CAPTCHA_TTL)", {
        "201": json_answer("A captcha", ref("Captcha"), {"register": {
            "operationId": "registration_start",
            "requestBody": {"captcha_id": "$response.body#/captcha_id"}}})}, errors=(429,))},
    "/registrations": {"post": operation("registration_start", "Start a registration: the code is mailed", {
        "202": json_answer("Verification code sent", ref("VerificationSent"))},
        body=registration.register,
        errors=(*CAPTCHA_ERRORS, 403, 409, 422, 429))},
    "/registrations/resend": {"post": operation("registration_resend", "Mail a new registration code", {
        "202": json_answer("A new code for this registration was mailed", ref("VerificationSent"))},
        body=registration.resend, errors=(400, 422, 429))},
    "/registrations/confirm": {"post": operation("registration_confirm", "Confirm the code: creates the account", {
        "201": json_answer("Account created and signed in", ref("TokenGrant"), token_links())},
        body=registration.confirm, errors=(*CODE_ERRORS, 409))},
    "/me": {"get": operation("account_me", "The signed-in account", {
        "200": json_answer("The account", ref("User"))}, auth="user")},
    "/sessions": {"post": operation("sessions_password", "Sign in with a login name and password", {
        "200": signed_in(),
        "202": json_answer("Second step required (second_step: code, mailed)", ref("SecondFactorChallenge"), {
            "second_factor": {"operationId": "sessions_second_factor",
                              "requestBody": {"challenge": "$response.body#/challenge"}}})},
        body=sessions.create_session,
        errors=(*CAPTCHA_ERRORS, (401, "invalid_credentials"), 422, 423, 429))},
    "/sessions/second-factor": {"post": operation(
        "sessions_second_factor", "Finish sign-in with the step due: the mailed code, or the password after a code", {
            "200": signed_in()},
        body=sessions.second_factor,
        errors=(*CODE_ERRORS, (401, "invalid_credentials"), 423))},
    "/sessions/second-factor/resend": {"post": operation("sessions_second_factor_resend", "Mail a new 2nd-step code", {
        "202": json_answer("Code sent", ref("SecondFactorResent"))},
        body=sessions.second_factor_resend, errors=((400, "code_expired"), 429))},
    "/login-codes": {"post": operation("sessions_login_code", "Mail a sign-in code (same answer for unknown addresses)",
        SENT, body=sessions.login_code, errors=(*CAPTCHA_ERRORS, CODE_LOGIN_OFF, 422, 429))},
    "/sessions/code": {"post": operation("sessions_code", "Sign in with a mailed code", {
        "200": signed_in(),
        "202": json_answer("Second step required (second_step: password)", ref("SecondFactorChallenge"), {
            "second_factor": {"operationId": "sessions_second_factor",
                              "requestBody": {"challenge": "$response.body#/challenge"}}})},
        body=sessions.code_session, errors=(*CODE_ERRORS, CODE_LOGIN_OFF))},
    "/sessions/current": {"delete": operation("sessions_delete_current", "Sign out: revoke this token",
                                              NO_CONTENT, auth="user")},
    "/sessions/reauthenticate": {"post": operation("sessions_reauthenticate",
        "Confirm the password (unlocks sensitive operations for a code-only token)", {
            "200": json_answer("Confirmed", ref("Reauthenticated"))},
        body=sessions.reauthenticate, auth="user", errors=((401, "invalid_credentials"), 423, 429))},
    "/me/sessions": {"get": operation("account_sessions", "The account's live sessions and tokens", {
        "200": json_answer("Sessions, newest activity first", ref("SessionList"), {"end": {
            "operationId": "account_end_session",
            "parameters": {"path.public_id": "$response.body#/items/0/id"}}})}, auth="user")},
    "/me/sessions/{public_id}": {"delete": operation("account_end_session", "End one session or token",
        NO_CONTENT, auth="user", errors=(404,), params=(param("public_id", "path"),))},
    "/password-resets": {"post": operation("account_password_reset", "Mail a password reset code",
        SENT, body=recovery.password_reset, errors=(*CAPTCHA_ERRORS, 422, 429))},
    "/password-resets/confirm": {"post": operation("account_password_reset_confirm",
        "Set a new password with the code; ends every session and token", {
            "200": json_answer("Password reset", ref("PasswordReset"))},
        body=recovery.password_reset_confirm, errors=CODE_ERRORS)},
    "/me/password": {"post": operation("account_change_password", "Change the password; other sessions end", {
        "200": json_answer("Changed", ref("PasswordChanged"))},
        body=account.change_password, auth="recent", errors=(422, 423))},
    "/me/email": {"post": operation("account_change_email", "Change the email address: a code goes to the new one",
        SENT, body=account.change_email, auth="recent", errors=(422, 423, 429))},
    "/me/email/confirm": {"post": operation("account_change_email_confirm", "Confirm the new address with its code", {
        "200": json_answer("Changed; the old address is told", ref("EmailChanged"))},
        body=account.change_email_confirm, auth="recent", errors=(*CODE_ERRORS, 409))},
    "/me/notifications": {"post": operation("account_notifications", "Mail me when a new device signs in", {
        "200": json_answer("Saved", ref("Notifications"))}, body=account.notifications, auth="user")},
    "/admin/users": {"get": operation("admin_users", "Search accounts, newest first", {
        "200": json_answer("One page", ref("UserPage"), {"user": {
            "operationId": "admin_user", "parameters": {"path.user_id": "$response.body#/items/0/id"}}})},
        auth="admin", errors=((400, "invalid_input"),),
        params=(param("q", description="part of an email or username"), *page_params(200)))},
    "/admin/users/{user_id}": {"get": operation("admin_user", "One account", SUMMARY, auth="admin",
                                                errors=(404,), params=(USER_ID,))},
    "/admin/users/{user_id}/deactivate": {"post": admin_action(
        "deactivate", "Deactivate an account and end its sessions (not your own: 403)")},
    "/admin/users/{user_id}/activate": {"post": admin_action("activate", "Activate an account")},
    "/admin/users/{user_id}/unlock": {"post": admin_action("unlock", "Lift a sign-in lockout")},
    "/admin/users/{user_id}/send-reset": {"post": admin_action("send-reset", "Mail the account a reset code")},
    "/admin/invites": {
        "get": operation("admin_invites", "Invite codes (newest 1000)", {
            "200": json_answer("Invite codes", ref("InviteList"))}, auth="admin", errors=((400, "invalid_input"),),
            params=(param("status", schema={"type": "string", "enum": ["active", "full", "disabled", "expired"]}),)),
        "post": operation("admin_create_invites", "Create invite codes", {
            "201": json_answer("Created", ref("InvitesCreated"), {"disable": {
                "operationId": "admin_disable_invite",
                "parameters": {"path.code": "$response.body#/items/0/code"}}})},
            body=admin.admin_create_invites,
            auth="admin", errors=(422,)),
    },
    "/admin/invites/{code}": {"delete": operation("admin_disable_invite", "Disable an invite code", {
        "200": json_answer("Disabled", ref("Invite"))}, auth="admin", errors=(404,),
        params=(param("code", "path"),))},
    "/admin/audit": {"get": operation("admin_audit", "The audit log, newest first; ?format=csv exports", {
        "200": {"description": "One page, or the whole filtered log as CSV with format=csv",
                "content": {"application/json": {"schema": ref("AuditPage")},
                            "text/csv": {"schema": {"type": "string"}}}}},
        auth="admin", errors=((400, "invalid_input"),), params=(
            param("event", description="event name prefix, e.g. login."), param("email"), param("ip"),
            param("since", schema=DAY), param("until", schema=DAY, description="a day is inclusive"),
            param("format", schema={"type": "string", "enum": ["json", "csv"]}), *page_params(500)))},
    "/admin/mail-stats": {"get": operation("admin_mail_stats", "Mail delivery figures", {
        "200": json_answer("Figures since the counters began", ref("MailStats"))}, auth="admin")},
    "/admin/dashboard": {"get": operation("admin_dashboard", "Counts for today and the last 7 days", {
        "200": json_answer("Figures", ref("Dashboard"))}, auth="admin")},
    "/openapi.json": {"get": operation("openapi", "This document", {
        "200": json_answer("OpenAPI 3.1", {"type": "object", "required": ["openapi", "paths"]})})},
}

DESCRIPTION = """The JSON API of authsvc. Requests and responses are JSON; authenticated calls
send `Authorization: Bearer <token>`. Every error has one shape,
`{"error": {"code": ..., "message": ..., ...}}`; messages follow Accept-Language (zh-CN, en).
Error codes: """ + ", ".join(f"`{c}`" for c in ERROR_CODES) + ". See docs/api.md."


DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "authsvc API", "version": "1", "description": DESCRIPTION},
    "servers": [{"url": "/api/v1"}],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "A token from POST /registrations/confirm, /sessions, "
                           "/sessions/second-factor or /sessions/code (API_TOKEN_TTL)"}},
    },
}


def document():
    """The OpenAPI document as a dict (shared: callers must not modify it)."""
    return DOCUMENT


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())
