"""The answer of GET /api/v1/admin/mail-stats (the admin area's other answers: replies_admin.py)."""

from typing import Annotated, Literal

from pydantic import Field

from .replies import Count, MaskedEmail, Reply, Time


class ProviderToday(Reply):
    sent: Count
    quota: Annotated[int | None, Field(ge=1, description="MAIL_DAILY_QUOTA / MAIL_FALLBACK_DAILY_QUOTA; null: no limit")]
    used_ratio: Annotated[float | None, Field(ge=0, description="sent / quota (the alert fires at 0.8)")]


class MailToday(Reply):
    day: Annotated[str, Field(description="the DISPLAY_TIMEZONE day, e.g. 2026-12-02")]
    primary: ProviderToday
    fallback: ProviderToday


class MailProvider(Reply):
    sent: Count
    failed: Count
    rejected: Count


class DeadLetter(Reply):
    id: str
    template: str
    to: MaskedEmail
    queued_at: Time
    failed_at: Time
    attempts: Count
    reason: Annotated[str, Field(description="the last failure of each provider tried")]


class DeadLetters(Reply):
    count: Count
    oldest_failed_at: Time | None
    recent: Annotated[list[DeadLetter], Field(description="the newest 20")]


class MailStats(Reply):
    sent: Count
    failed: Count
    retried: Count
    fell_back: Count
    gave_up: Count
    suppressed: Count
    expired: Count
    success_rate: Annotated[float | None, Field(ge=0, le=1)]
    by_provider: dict[str, MailProvider]
    latency_seconds_avg: float | None
    latency_buckets: dict[str, Count]
    circuits_open: list[Literal["primary", "fallback"]]
    queue_depth: Count
    today: Annotated[MailToday, Field(description="today's sends per provider against its daily quota")]
    dead_letters: Annotated[DeadLetters, Field(description="mail given up on after retrying while it was useful")]
