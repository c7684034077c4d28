"""Every API answer body, declared once as a pydantic model: here the shared parts (Reply, the
field types, the error, the account) and the answers of registration, sign-in, recovery and the
account; the second factors' in replies_factors.py, the admin area's in replies_admin.py (its
mail statistics in replies_mail.py).

A view names its answers with `@operation(...)` (declare.py); the OpenAPI document takes each
answer's schema from the model here (openapi.py), and outside production every answer the API
sends is checked against its model before it leaves (declare.check_answer), so the tests and
`make run` catch a field the document does not describe. Production does not pay for the check.

Models are closed (extra="forbid") and strict: a field sent but not declared, a missing one, a
wrong type, a time without an offset are all contract breaches. A field that is sometimes
absent is declared with `absent()` (never null when present).
"""

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .errorcodes import ERROR_CODES


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def absent(kind, description=None):
    """A field that is left out rather than sent as null."""
    return Annotated[kind, Field(default=None, description=description)]


Seconds = Annotated[int, Field(ge=0, description="seconds")]
Time = Annotated[AwareDatetime, Field(description="ISO 8601 with an offset, e.g. 2026-11-21T08:30:00Z")]
MaskedEmail = Annotated[str, Field(description="masked address, e.g. a***@qq.com")]
Count = Annotated[int, Field(ge=0)]


FieldMessages = absent(dict[str, list[str]], "field name -> messages")
DeviceToken = absent(str, "send it back as `device_token` at the next sign-in to be recognised")
AutoLoginToken = absent(str, "only with AUTO_LOGIN_AFTER_RESET=true")


class ErrorDetail(Reply):
    code: Annotated[Literal[tuple(ERROR_CODES)], Field(
        description="\n".join(f"- `{c}`: {text}" for c, text in ERROR_CODES.items()))]
    message: Annotated[str, Field(description="in the Accept-Language language (zh-CN default, en)")]
    fields: FieldMessages
    remaining_attempts: absent(Count)
    retry_after: absent(Seconds)


class Error(Reply):
    """The one error shape: {"error": {"code", "message", ...}}."""

    error: ErrorDetail


class User(Reply):
    id: int
    email: str
    username: str
    is_admin: bool
    email_verified_at: Time | None
    created_at: Time | None


class TokenGrant(Reply):
    token: str
    expires_in: Seconds
    user: User
    device_token: DeviceToken
    recovery_codes_remaining: absent(Count, "after signing in with a recovery code: the unused ones left")


class PasskeyOptions(Reply):
    challenge_id: Annotated[str, Field(description="send it back with the credential; single use")]
    publicKey: Annotated[dict[str, Any], Field(description=(
        "WebAuthn options in the JSON form of PublicKeyCredential.parseCreationOptionsFromJSON / "
        "parseRequestOptionsFromJSON"))]
    expires_in: Seconds


class SecondFactorChallenge(Reply):
    status: Literal["second_factor_required"]
    challenge: str
    second_step: Annotated[Literal["code", "password", "totp", "passkey"], Field(description=(
        "code: the mailed code; password: after a code sign-in; totp: the authenticator app; "
        "passkey: a passkey (its options are in `passkey`)"))]
    alternatives: absent(list[Literal["totp", "recovery_code"]], "what the step also accepts instead")
    passkey: absent(PasskeyOptions, "with second_step passkey: options for navigator.credentials.get()")
    email: MaskedEmail
    expires_in: Seconds


class PowChallenge(Reply):
    """An ALTCHA challenge (v2): solve it as docs/api.md shows, send the payload as captcha_pow."""
    parameters: Annotated[dict[str, Any], Field(description=(
        "algorithm, cost, keyLength, keyPrefix, keySignature, nonce, salt, expiresAt, data"))]
    signature: str


class Captcha(Reply):
    captcha_id: str
    expires_in: Seconds
    mode: Annotated[Literal["image", "pow", "both"], Field(description=(
        "what to send back: image: captcha_answer; pow: captcha_pow; both: the two"))]
    image: absent(Annotated[str, Field(pattern="^data:image/png;base64,")], "image and both modes: the picture")
    pow: absent(PowChallenge, "pow and both modes: the proof of work to do")


class VerificationSent(Reply):
    status: Literal["verification_sent"]
    email: MaskedEmail
    expires_in: Seconds
    resend_after: Seconds
    registration_id: Annotated[str, Field(min_length=22, max_length=64, description=(
        "this registration's own id (128 random bits): confirm and resend name it"))]


class CodeSent(Reply):
    status: Literal["code_sent"]
    email: MaskedEmail
    expires_in: Seconds
    resend_after: Seconds


class SecondFactorResent(Reply):
    status: Literal["code_sent"]
    email: MaskedEmail


class PasswordReset(Reply):
    status: Literal["password_reset"]
    user: User
    token: AutoLoginToken
    expires_in: absent(Seconds)


class PasswordChanged(Reply):
    status: Literal["password_changed"]


class Reauthenticated(Reply):
    status: Literal["ok"]


class EmailChanged(Reply):
    user: User


class Notifications(Reply):
    new_device: bool


class Session(Reply):
    id: Annotated[str, Field(description="public id: DELETE /me/sessions/{id}")]
    kind: Literal["web", "api"]
    ip: str | None
    device: str | None
    created: Time | None
    last_seen: Time | None
    current: bool
    method: str | None


class SessionList(Reply):
    items: list[Session]
    total: Count


class SessionsEnded(Reply):
    ended: Annotated[Count, Field(description="sessions and tokens ended; the caller's token stays")]
