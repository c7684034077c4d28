"""The worker side of mail: pick a provider, send over SMTP, decide retry or fallback.

process_job() only decides: it returns an Outcome, and the worker settles that with the queue
(acknowledge, or schedule the retry) in one place. Acceptance is recorded here, the moment the
server answers 250, because a worker killed after that point must not send the message again.
"""

import logging
import smtplib
import socket
import time
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path

from flask import current_app
from flask_mail import BadHeaderError

from ...extensions import db
from ...models import User
from . import queue, quota, sender, smtpconn, stats
from .claims import SENT_MARK
from .compose import compose, inline_images
from .enqueue import IF_ACCOUNT, IF_NO_ACCOUNT
from .wire import WireMessage

log = logging.getLogger("authsvc.mail")

OUTBOX = "outbox"


@dataclass(frozen=True)
class Provider:
    name: str
    server: str = ""
    port: int = 0
    use_ssl: bool = False
    use_tls: bool = False
    username: str = ""
    password: str = ""
    sender: str = ""


class Result(StrEnum):
    """What became of a claimed job (the words drain() and the CLI report)."""

    SENT = "sent"  # accepted by a server (recorded at its 250)
    REJECTED = "rejected"  # refused for good (5xx, bad header): never retried
    RETRY = "retry"  # a transient failure: due again after Outcome.delay
    FAILED = "failed"  # the retries are spent: given up
    EXPIRED = "expired"  # the job's content expired with its secret, or can't be read
    DUPLICATE = "duplicate"  # accepted once already: the same Message-ID is never sent again
    SUPPRESSED = "suppressed"  # the account rule leaves nobody to send it to
    ERROR = "error"  # the code broke on this job: dropped rather than looped on


@dataclass(frozen=True)
class Outcome:
    """process_job's verdict on one job; the worker settles it with the queue once."""

    result: Result
    job: dict | None = None  # RETRY: the job as it is stored again (its next attempt number);
    #                          FAILED: the job that goes to the dead letters
    delay: float = 0.0  # RETRY: seconds until it is due
    fell_back: bool = False  # the fallback provider decided it
    provider: str = ""  # the provider that decided it (primary, fallback, outbox)
    reason: str = ""  # why it was not sent: the server's refusal or the transient error
    tally: tuple = ()  # figures to count with the settlement, in its round trip: f(pipe) each


class PermanentFailure(Exception):
    """The server refused this message for good (5xx on recipient or content)."""


def providers():
    """(primary, fallback-or-None) from configuration; the dev outbox when no SMTP is set."""
    c = current_app.config
    if not c.get("MAIL_SERVER"):
        return Provider(OUTBOX), None
    primary = Provider("primary", c["MAIL_SERVER"], c["MAIL_PORT"], c["MAIL_USE_SSL"],
                       c["MAIL_USE_TLS"], c.get("MAIL_USERNAME") or "", c.get("MAIL_PASSWORD") or "",
                       c.get("MAIL_DEFAULT_SENDER") or c.get("MAIL_USERNAME") or "")
    fallback = None
    if c.get("MAIL_FALLBACK_SERVER"):
        fallback = Provider("fallback", c["MAIL_FALLBACK_SERVER"], c["MAIL_FALLBACK_PORT"],
                            c["MAIL_FALLBACK_USE_SSL"], c["MAIL_FALLBACK_USE_TLS"],
                            c.get("MAIL_FALLBACK_USERNAME") or "", c.get("MAIL_FALLBACK_PASSWORD") or "",
                            c.get("MAIL_FALLBACK_SENDER") or c.get("MAIL_FALLBACK_USERNAME")
                            or primary.sender)
    return primary, fallback


def retry_delays():
    raw = current_app.config["MAIL_RETRY_DELAYS"]
    return [float(part) for part in raw.split(",") if part.strip()]


def retry_delay(attempt):
    """Seconds before retry number `attempt` + 1: MAIL_RETRY_DELAYS, then doubling from the
    last of them up to MAIL_RETRY_MAX_DELAY, for as long as the message is useful."""
    delays = retry_delays() or [5.0]
    if attempt < len(delays):
        return delays[attempt]
    cap = current_app.config["MAIL_RETRY_MAX_DELAY"]
    return min(cap, delays[-1] * 2 ** (attempt - len(delays) + 1))


def build_message(job, provider, template=None, user=None):
    subject, text, html, headers = compose(job, template, user)
    domain = sender.message_id_domain(provider.sender)
    headers = dict(headers, **{"X-Authsvc-Job": job["id"]})
    message = WireMessage(subject=subject, recipients=[job["to"]], body=text, html=html,
                          sender=sender.from_header(provider.sender) or f"noreply@{domain}",
                          extra_headers=headers,
                          msg_id=f"<{job['id']}@{domain}>")  # the same id on every retry of this job
    message.related = inline_images(template or job["template"], job["ctx"])
    if message.has_bad_headers():
        raise PermanentFailure("header injection refused")
    return message


def send_with(provider, message, on_accepted=lambda: None):
    """Hand the message to one provider; raises PermanentFailure or a transient error.

    `on_accepted` runs the moment the server answered 250 to the message: a worker killed
    after that point must not send it again. The connection then stays open for this
    thread's next message (smtpconn); a failed one is closed.
    """
    if provider.name == OUTBOX:
        _write_outbox(message)
        return on_accepted()
    host = smtpconn.checkout(provider, lambda: smtpconn.connect(provider))
    envelope_from, envelope_to = message.envelope()
    try:
        host.sendmail(envelope_from, envelope_to, message.as_bytes())
    except BaseException as exc:
        host.close()
        reason = _permanent_reason(exc)
        if reason:
            raise PermanentFailure(reason) from exc
        raise
    on_accepted()
    smtpconn.keep(provider, host)


def _permanent_reason(exc):
    """Why the server refused this message for good, or None when trying again may work."""
    if isinstance(exc, BadHeaderError):
        return "bad header"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return f"recipient refused {codes}" if codes and all(c >= 500 for c in codes) else None
    if isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500:
        return f"message refused {exc.smtp_code}"
    return None


def _write_outbox(message):
    folder = Path(current_app.instance_path) / "outbox"
    folder.mkdir(parents=True, exist_ok=True)
    job_id = message.extra_headers["X-Authsvc-Job"]
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{job_id}.eml"
    path.write_bytes(message.as_bytes())


TRANSIENT = (smtplib.SMTPException, OSError, socket.timeout)


LOAD = object()


def process_job(job_id, job=LOAD):
    """Deliver one claimed job: send, fall back, or decide on a retry; returns its Outcome.

    `job` is its content when claimed with it (claims.py: a dict, None, or SENT_MARK), else
    it is read here. The job is neither acknowledged nor requeued here: the caller settles
    the Outcome.
    """
    if job is LOAD:
        job = queue.load(job_id)
        job = SENT_MARK if job is not None and queue.already_sent(job_id) else job
    if job is None:
        return Outcome(Result.EXPIRED)
    if job is SENT_MARK:
        return Outcome(Result.DUPLICATE)
    template, user = _resolve_recipient(job)
    if template is None:
        return Outcome(Result.SUPPRESSED)
    primary, fallback = providers()
    attempt = job.get("attempt", 0)
    first_retries_left = attempt < len(retry_delays())
    result, reason, skipped, tally = _attempt(primary, job, template, user)
    if result is not Result.FAILED:
        return Outcome(result, provider=primary.name, reason=reason, tally=tally)
    # The primary failed, or was skipped (its circuit open, its daily quota reached). Fall back
    # once the primary's first retries are spent, or at once while it is skipped.
    if fallback and (skipped or not first_retries_left or stats.circuit_open(primary.name)):
        result, fallback_reason, _skipped, tally = _attempt(fallback, job, template, user)
        if result is not Result.FAILED:
            return Outcome(result, fell_back=True, provider=fallback.name, reason=fallback_reason, tally=tally)
        reason = f"{reason}; {fallback_reason}"
    delay = retry_delay(attempt)
    deadline = job.get("deadline") or job["queued_at"] + current_app.config["MAIL_NOTICE_USEFUL_FOR"]
    if time.time() + delay < deadline:
        return Outcome(Result.RETRY, job=dict(job, attempt=attempt + 1), delay=delay, reason=reason)
    log.warning("mail job %s given up after %d attempts: %s", job_id, attempt + 1, reason)
    return Outcome(Result.FAILED, job=job, reason=reason)


def _attempt(provider, job, template, user):
    """(result, reason, skipped, tally): the provider is skipped while its circuit is open or
    its daily quota is reached (nothing is sent to it); otherwise one try within its quota.
    Whether the job was sent meanwhile is read in the same round trip as the reservation,
    the last moment before SMTP."""
    verdict, day = quota.take(provider.name, job["id"])
    if verdict == quota.SENT_ALREADY:
        return Result.DUPLICATE, "", False, ()
    if verdict == quota.CIRCUIT_OPEN:
        return Result.FAILED, f"{provider.name}: circuit open", True, ()
    if day is None:
        return Result.FAILED, f"{provider.name}: daily quota reached", True, ()
    result, reason, tally = _try(provider, job, template, user)
    if result is not Result.SENT:
        quota.release(provider.name, day)
    return result, reason, False, tally


def _try(provider, job, template, user):
    """One attempt through one provider: (SENT, REJECTED or FAILED (transient), reason, and
    for SENT the figures the settlement counts in its round trip)."""
    try:
        message = build_message(job, provider, template, user)
        send_with(provider, message, on_accepted=lambda: queue.mark_sent(job["id"]))
    except PermanentFailure as exc:
        stats.record(provider.name, "rejected", reason="rejected")
        log.warning("mail job %s refused by %s: %s", job["id"], provider.name, exc)
        return Result.REJECTED, f"{provider.name}: {exc}", ()
    except TRANSIENT as exc:
        stats.record(provider.name, "failed", reason=_failure_kind(exc))
        stats.provider_failed(provider.name)
        log.warning("mail job %s failed on %s: %s", job["id"], provider.name, type(exc).__name__)
        return Result.FAILED, f"{provider.name}: {_transient_reason(exc)}", ()
    tally = [partial(stats.record, provider.name, "sent", latency=time.time() - job["queued_at"]),
             partial(stats.provider_ok, provider.name)]
    if template == "verification":  # the code-usage rate counts codes that really went out
        tally.append(partial(stats.count, f"codes_mailed.{job['ctx'].get('purpose', 'unknown')}"))
    return Result.SENT, "", tuple(tally)


def _failure_kind(exc):
    """The day figures' reason for a transient failure: timeout, connection, temporary (the
    server's 4xx), other."""
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(exc, smtplib.SMTPResponseException):
        return "temporary"
    if isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException):
        return "connection"
    return "other"


def _transient_reason(exc):
    """The error's kind and the server's own words; never the recipients (no address)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{type(exc).__name__} {exc.smtp_code} {text}"[:300]
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


def _resolve_recipient(job):
    """Apply the job's account rule: (template to send or None, the account if any)."""
    rule = job.get("account")
    if rule not in (IF_ACCOUNT, IF_NO_ACCOUNT):
        return job["template"], None
    user = db.session.execute(db.select(User).filter_by(email=job["to"])).scalar_one_or_none()
    if rule == IF_ACCOUNT:
        return (job["template"], user) if user and user.active else (None, None)
    if rule == IF_NO_ACCOUNT and user is not None:
        return job.get("alternate"), user
    return job["template"], user
