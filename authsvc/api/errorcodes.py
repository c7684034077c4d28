"""Every error code the API answers with, and which statuses carry which: the vocabulary of
the one error shape (replies.Error), the OpenAPI document (openapi.py) and the answer check
(declare.py). tests/test_openapi.py proves it matches authsvc/errors.py and errorhandlers.py.
"""

# Every error code the API answers with (authsvc/errors.py, authsvc/errorhandlers.py).
ERROR_CODES = {
    "invalid_input": "A field is missing, of the wrong type or size, or refused; see `fields`.",
    "captcha_required": "This request needs a solved captcha (captcha_id and captcha_answer, "
                        "captcha_pow, or all three: see POST /captcha's mode).",
    "captcha_invalid": "Wrong or expired captcha answer or proof of work; each captcha is single use.",
    "invalid_code": "Wrong emailed code; `remaining_attempts` says how many tries are left.",
    "code_expired": "The code expired, was used up, or was superseded by a newer one.",
    "invalid_credentials": "Unknown login or wrong password (one answer for both).",
    "unauthorized": "Missing, unknown, expired or revoked bearer token.",
    "reauthentication_required": "The token came from an emailed code alone: confirm the "
                                 "password with POST /sessions/reauthenticate first.",
    "forbidden": "Not allowed (not an admin, registration closed, code sign-in off, deactivating yourself).",
    "second_factor_required": "ADMIN_REQUIRE_MFA: the admin has no passkey or authenticator app "
                              "yet, or the action needs his own second factor proven just now.",
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
    403: ("forbidden", "second_factor_required"),
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
