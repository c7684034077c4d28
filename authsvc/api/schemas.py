"""Every API request body, declared once as a pydantic model.

The view parses its body with `@accepts(Model)` (inputs.py) and the OpenAPI document takes
the request schema from the same model (openapi.py), so what is checked and what is
documented cannot drift apart. These models check shape only: types, required fields, sizes,
no unknown fields (a 400 naming them). What a value must look like — an email, a username, the
password policy, a code's digits — stays the services' business and answers 422.

An empty string or null counts as absent (a required field then answers "required").
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MAX = 256
PASSWORD_MAX = 4096  # far above the policy's 128 characters; the policy answers in between


def text(max_length=DEFAULT_MAX, description=None, **schema):
    """A required string of at most `max_length` characters."""
    return Annotated[str, Field(min_length=1, max_length=max_length, description=description,
                                json_schema_extra=schema or None)]


def optional(kind):
    """The same, absent (or null / "") allowed."""
    return Annotated[kind | None, Field(default=None)]


Email = text()
Password = text(PASSWORD_MAX)
Code = text(16, "the 6 digits from the mail (spaces and dashes are ignored)")
CaptchaId = optional(text(64))
CaptchaAnswer = optional(text(16))
CaptchaPow = optional(text(4096, "pow and both captcha modes: the solved challenge, base64 JSON (docs/api.md)"))
DeviceToken = optional(text(128, "the device_token a sign-in with a second step returned"))


class Body(BaseModel):
    """A JSON object with exactly the declared fields, no coercion between types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- registration -------------------------------------------------------------------------
class RegistrationStart(Body):
    email: Email
    username: text()
    password: Password
    invite_code: optional(text(64))
    captcha_id: CaptchaId
    captcha_answer: CaptchaAnswer
    captcha_pow: CaptchaPow


RegistrationId = text(64, "the registration_id POST /registrations returned")


class RegistrationResend(Body):
    email: Email
    registration_id: RegistrationId


class RegistrationConfirm(Body):
    email: Email
    code: Code
    registration_id: RegistrationId


# --- sign-in ------------------------------------------------------------------------------
Login = text(254, "email address or username")


class PasswordSignIn(Body):
    login: Login
    password: Password
    captcha_id: CaptchaId
    captcha_answer: CaptchaAnswer
    captcha_pow: CaptchaPow
    device_token: DeviceToken


Challenge = text(64)
StepCode = optional(text(16, "when second_step is code"))
StepPassword = optional(text(PASSWORD_MAX, "when second_step is password"))


StepTotp = optional(text(16, "when second_step is totp: the 6 digits from the authenticator app"))
StepRecovery = optional(text(32, "when second_step is totp and recovery_code is among the alternatives"))


Credential = Annotated[dict[str, Any], Field(description=(
    "the browser's PublicKeyCredential as JSON (credential.toJSON(): id, rawId, type, response "
    "with base64url fields)"), json_schema_extra={"maxProperties": 16})]
PasskeyChallengeId = text(64, "the challenge_id of the WebAuthn options this answers")


class SecondStep(Body):
    challenge: Challenge
    code: StepCode
    password: StepPassword
    totp: StepTotp
    recovery_code: StepRecovery
    challenge_id: optional(text(64, "when second_step is passkey: the challenge_id of its options"))
    credential: optional(Credential)


class PasskeyOptionsRequest(Body):
    challenge: optional(text(64, "a pending second step (second_step passkey); without it, options "
                                 "for a sign-in with any passkey, no login name"))


class PasskeySignIn(Body):
    challenge_id: PasskeyChallengeId
    credential: Credential
    device_token: DeviceToken


class ChallengeOnly(Body):
    challenge: Challenge


class EmailCaptcha(Body):
    email: Email
    captcha_id: CaptchaId
    captcha_answer: CaptchaAnswer
    captcha_pow: CaptchaPow


class CodeSignIn(Body):
    email: Email
    code: Code
    device_token: DeviceToken


class PasswordOnly(Body):
    password: Password


# --- recovery and account -----------------------------------------------------------------
class ResetConfirm(Body):
    email: Email
    code: Code
    new_password: Password


class PasswordChange(Body):
    current_password: Password
    new_password: Password


class EmailChange(Body):
    password: Password
    new_email: Email


class CodeOnly(Body):
    code: Code


class Notifications(Body):
    new_device: bool


# --- second factors -----------------------------------------------------------------------
class TotpConfirm(Body):
    code: text(16, "the 6 digits the authenticator app shows for the new secret")


PasskeyName = text(64, "what the user calls it, e.g. MacBook")


class PasskeyRegistration(Body):
    challenge_id: PasskeyChallengeId
    credential: Credential
    name: PasskeyName


class PasskeyRename(Body):
    name: PasskeyName


# --- admin --------------------------------------------------------------------------------
class OwnFactor(Body):
    totp: optional(text(16, "a code from the admin's own authenticator app (not needed when his token "
                            "came from a sign-in through his second factor within REAUTH_SECONDS)"))
    recovery_code: optional(text(32, "one of the admin's own recovery codes, in place of the app code"))


DAY = {"anyOf": [{"format": "date"}, {"format": "date-time"}]}
Uses = optional(Annotated[int, Field(description="registrations per code (1)",
                                     json_schema_extra={"minimum": 1, "maximum": 100000})])
Expires = optional(text(32, "the last valid day, YYYY-MM-DD (UTC), as the CLI's --expires; years 2-9998",
                        **DAY))
Count = optional(Annotated[int, Field(description="how many (1)", json_schema_extra={"minimum": 1, "maximum": 500})])
ChosenCode = optional(text(64, "an admin-chosen code (6+ letters, digits, - or _)"))


class InviteCreate(Body):
    uses: Uses
    expires: Expires
    count: Count
    code: ChosenCode


class IpBlockCreate(Body):
    network: text(64, "an address or CIDR, IPv4 or IPv6, e.g. 203.0.113.7, 203.0.113.0/24, 2001:db8:1:2::/64")
    reason: text(200, "why; shown in the list and the audit log")
    hours: optional(Annotated[int, Field(description="how long (24)", json_schema_extra={"minimum": 1, "maximum": 8760})])
    confirm: optional(Annotated[bool, Field(description="true to block a network holding your own address")])
