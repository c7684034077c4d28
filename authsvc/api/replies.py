"""Every API answer body, declared once as a pydantic model.

A view names its answers with `@operation(...)` (declare.py); the OpenAPI document takes each
answer's schema from the model here (openapi.py), and outside production every answer the API
sends is checked against its model before it leaves (declare.check_answer), so the tests and
`make run` catch a field the document does not describe. Production does not pay for the check.

Models are closed (extra="forbid") and strict: a field sent but not declared, a missing one, a
wrong type, a time without an offset are all contract breaches. A field that is sometimes
absent is declared with `absent()` (never null when present).
"""

from datetime import date
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


RecoveryCodes = Annotated[list[str], Field(min_length=10, max_length=10, description=(
    "ten single-use codes, shown this once (xxxxx-xxxxx)"))]


class TotpEnrolment(Reply):
    secret: Annotated[str, Field(description="base32, for typing into the app")]
    secret_grouped: Annotated[str, Field(description="the same in groups of four")]
    otpauth_uri: Annotated[str, Field(pattern="^otpauth://totp/")]
    qr_svg: Annotated[str, Field(pattern="^<svg", description="the otpauth URI as an inline SVG QR code")]
    expires_in: Seconds


class TotpEnrolled(Reply):
    status: Literal["enrolled"]
    recovery_codes: absent(RecoveryCodes)


class RecoveryCodeSet(Reply):
    recovery_codes: RecoveryCodes


class FactorRemoved(Reply):
    status: Literal["removed"]


class AppFactor(Reply):
    enrolled: bool
    created_at: absent(Time)
    last_used_at: absent(Time | None)


class PasskeyItem(Reply):
    id: int
    name: str
    aaguid: Annotated[str | None, Field(description="the authenticator model's AAGUID, when it tells")]
    authenticator: Annotated[str | None, Field(description="its name, when the AAGUID is a known one")]
    created_at: Time
    last_used_at: Time | None
    backed_up: Annotated[bool, Field(description="synced to a cloud account (a multi-device passkey)")]
    transports: list[str]


class PasskeyList(Reply):
    items: list[PasskeyItem]
    total: Count


class PasskeyAdded(Reply):
    passkey: PasskeyItem
    recovery_codes: absent(RecoveryCodes)


class Factors(Reply):
    totp: AppFactor
    passkeys: list[PasskeyItem]
    recovery_codes_remaining: Count
    second_step: Annotated[Literal["passkey", "totp"] | None, Field(
        description="what sign-in asks after the first step")]


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


class UserSummary(User):
    active: bool
    last_login_at: Time | None
    password_changed_at: Time | None
    locked: bool
    sessions: Count
    second_factors: list[Literal["passkey", "totp"]]
    recovery_codes_remaining: Count


class Page(Reply):
    total: Count
    page: Annotated[int, Field(ge=1)]
    per_page: Annotated[int, Field(ge=1)]


class CappedPage(Page):
    """total counts matching rows up to 10,000; total_exact is false when more match (then
    total is 10,000, a lower bound: "10,000+"). Pages past it still work while items come back."""
    total_exact: bool


class UserPage(CappedPage):
    items: list[UserSummary]


class InviteUse(Reply):
    id: int | None
    username: str | None
    used_at: Time | None


class Invite(Reply):
    code: str
    uses: Annotated[int, Field(description="registrations the code allows")]
    used: Annotated[int, Field(description="registrations made with it")]
    status: Literal["active", "full", "disabled", "expired"]
    expires: Annotated[date | None, Field(description="the last day (UTC) the code works, as given")]
    created_at: Time | None
    created_by: str | None
    users: list[InviteUse]


class InviteList(Reply):
    items: list[Invite]
    total: Count


class InvitesCreated(Reply):
    items: list[Invite]


class AuditEvent(Reply):
    id: int
    at: Time | None
    event: str
    outcome: str
    user_id: int | None
    actor_id: int | None
    email: str | None
    ip: str | None
    user_agent: str | None
    detail: dict[str, Any]


class AuditPage(CappedPage):
    items: list[AuditEvent]


class DashboardWindow(Reply):
    registrations: Count
    logins: Count
    login_failures: Count
    lockouts: Count
    codes_sent: Annotated[int, Field(ge=0, description="codes issued (also for addresses without an account, never mailed)")]
    codes_mailed: Annotated[int, Field(ge=0, description="codes an SMTP server accepted")]
    codes_used: Count
    code_usage_rate: Annotated[float | None, Field(ge=0, description="codes used of codes mailed")]


class Dashboard(Reply):
    """DISPLAY_TIMEZONE days: today, and today with the six days before."""

    today: DashboardWindow
    last_7_days: DashboardWindow = Field(alias="7d")
    users: Count


class IpBlock(Reply):
    id: str
    network: Annotated[str, Field(description="CIDR; an IPv6 one is at least as wide as IPV6_LIMIT_PREFIX")]
    kind: Literal["auto", "manual"]
    reason: str
    created_at: Time
    expires_at: Time
    created_by: Annotated[str | None, Field(description="the admin's username; null for automatic blocks")]


class IpBlockList(Reply):
    items: list[IpBlock]
    total: Count
from .replies_mail import DeadLetter, DeadLetters, MailProvider, MailStats, MailToday  # noqa: E402,F401
