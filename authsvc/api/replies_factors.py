"""The answers of the second factors (authenticator app, recovery codes, passkeys): GET
/me/factors and what enrolling, renaming and removing answer. See replies.py for the rules
every answer model follows."""

from typing import Annotated, Literal

from pydantic import Field

from .replies import Count, Reply, Seconds, Time, absent


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
