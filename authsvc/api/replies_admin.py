"""The admin area's answers: users, invite codes, the audit log, the dashboard, IP blocks (the
mail statistics: replies_mail.py). See replies.py for the rules every answer model follows."""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field

from .replies import Count, Reply, Time, User


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
