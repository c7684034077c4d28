"""Flask CLI commands: flask --app wsgi <command>."""

import re
import signal

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from . import config as settings
from .errors import ServiceError
from .extensions import db


def _fail(error):
    fields = error.extra.get("fields") or {}
    details = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
    raise click.ClickException(details or error.message)


def register(app):
    app.cli.add_command(create_admin)
    app.cli.add_command(mail_worker)
    app.cli.add_command(send_test_mail)
    app.cli.add_command(invites_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(ip_blocks_group)
    app.cli.add_command(report)

    from .cli_oidc import oidc_group

    app.cli.add_command(oidc_group)


@click.command("create-admin")
@with_appcontext
@click.option("--email", required=True)
@click.option("--username", required=True)
def create_admin(email, username):
    """Create the first admin (or promote an account). The password comes from
    AUTHSVC_ADMIN_PASSWORD (or the file AUTHSVC_ADMIN_PASSWORD_FILE names) or a prompt, never
    from the command line."""
    from .services import users
    from .services.validation import normalize_email

    try:
        password = settings.read_secret("AUTHSVC_ADMIN_PASSWORD")
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    try:
        existing = users.find_by_email(normalize_email(email))
    except ServiceError as error:
        _fail(error)
    if not password and existing is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user, created = users.create_admin(email, username, password)
        db.session.commit()
    except ServiceError as error:
        _fail(error)
    click.echo(f"{'created' if created else 'promoted'} admin {user.username} <{user.email}>")


@click.command("mail-worker")
@with_appcontext
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def mail_worker(once):
    """Run a mail delivery worker (MAIL_WORKER=external)."""
    from .services.mail import MailWorker

    worker = MailWorker(current_app._get_current_object())
    if once:
        click.echo(f"delivered: {worker.drain()}")
        return
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    worker.run()


@click.command("send-test-mail")
@with_appcontext
@click.argument("to")
def send_test_mail(to):
    """Send a test message to TO through the queue and say what became of it (checks the
    SMTP settings). A running worker (the dev server's, a mail-worker) may deliver it; the
    answer is the same. Exit status 0 only when a server (or the dev outbox) accepted it."""
    from .services import mail
    from .services.validation import normalize_email

    try:
        address = normalize_email(to)
    except ServiceError as error:
        _fail(error)
    report = mail.send_test_message(address)
    result, provider, reason = report["result"], report.get("provider"), report.get("reason")
    if result == "sent":
        where = (f"the dev outbox {current_app.instance_path}/outbox/" if provider == "outbox"
                 else f"the {provider} SMTP server")
        click.echo(f"delivered: accepted by {where} (worker {report['worker']})")
        return
    if result == "retry":
        raise click.ClickException(
            f"the test message was not accepted yet: {reason}; still queued, the worker tries "
            f"again in {report['delay']:g} s")
    if result == "queued":
        raise click.ClickException(
            f"the test message is still queued after {report['waited']:g} s: another worker "
            "claimed it and has not finished (see its log)")
    raise click.ClickException(f"the test message was not accepted ({result}): {reason or 'see the log above'}")


invites_group = AppGroup("invites", help="Manage invite codes.")


@invites_group.command("create")
@click.option("--count", default=1, show_default=True, type=int)
@click.option("--uses", default=1, show_default=True, type=int, help="Registrations per code.")
@click.option("--expires", default=None, help="Last valid day, e.g. 2026-12-31 (UTC).")
@click.option("--code", default=None, help="Choose the code yourself (one code).")
def invites_create(count, uses, expires, code):
    """Create invite codes and print them."""
    from .services import invites

    try:
        created = invites.create_invites(count=count, uses=uses, expires=expires, code=code)
    except ServiceError as error:
        _fail(error)
    for invite in created:
        click.echo(invite.code)


@invites_group.command("list")
def invites_list():
    """List invite codes with their use counts and status."""
    from .models import InviteCode
    from .services import invites

    for invite in db.session.execute(db.select(InviteCode).order_by(InviteCode.id)).scalars():
        info = invites.describe(invite)
        used_by = ",".join(u["username"] or "-" for u in info["users"]) or "-"
        click.echo(f"{info['code']}\t{info['used']}/{info['uses']}\t{info['status']}\t"
                   f"{info['expires'] or '-'}\t{used_by}")


audit_group = AppGroup("audit", help="The audit log.")


@audit_group.command("prune")
@click.option("--older-than", "older_than", default=None,
              help="Age such as 180d (default: AUDIT_RETENTION_DAYS).")
@click.option("--batch", default=None, type=click.IntRange(1, 1_000_000),
              help="Rows deleted per transaction (default 10000).")
def audit_prune(older_than, batch):
    """Delete audit events older than the retention period, in batches (one short
    transaction each: nothing waits on a long lock), printing the count as it goes."""
    from .services import audit_search

    days = current_app.config["AUDIT_RETENTION_DAYS"]
    if older_than:
        match = re.fullmatch(r"(\d+)d?", older_than.strip())
        if not match:
            raise click.ClickException("use a number of days, e.g. --older-than 180d")
        days = int(match.group(1))
    try:
        deleted = audit_search.prune(days, batch=batch or audit_search.PRUNE_BATCH,
                                     progress=lambda done: click.echo(f"deleted {done} so far", err=True))
    except ServiceError as error:
        _fail(error)
    click.echo(f"deleted {deleted} events older than {days} days")



ip_blocks_group = AppGroup("ip-blocks", help="Blocked client networks (automatic and by admins).")


@ip_blocks_group.command("list")
def ip_blocks_list():
    """Blocks in force: id, network, kind, until (UTC), by, reason."""
    from .services import ipblocks

    for record in ipblocks.listing():
        click.echo("\t".join((record["id"], record["network"], record["kind"], record["expires_at"],
                              record["created_by"] or "-", record["reason"])))


@ip_blocks_group.command("add")
@click.argument("network")
@click.option("--reason", required=True, help="Why (shown in the list and the audit log).")
@click.option("--hours", default=24, show_default=True, type=int)
def ip_blocks_add(network, reason, hours):
    """Block an address or network (CIDR), IPv4 or IPv6."""
    from .services import ipblocks

    try:
        record = ipblocks.add(network, reason, hours)
    except ServiceError as error:
        _fail(error)
    click.echo(f"blocked {record['network']} until {record['expires_at']} (id {record['id']})")


@ip_blocks_group.command("remove")
@click.argument("target")
def ip_blocks_remove(target):
    """Lift a block by its id or its network; works from the server even when the admin area
    is out of reach (an admin who blocked his own network)."""
    from .services import ipblocks

    try:
        record = ipblocks.lift(target, reason="lifted from the command line")
    except ServiceError as error:
        _fail(error)
    click.echo(f"lifted {record['network']}")
@click.command("report")
@with_appcontext
@click.argument("kind", type=click.Choice(["daily", "weekly"]))
@click.option("--day", default=None, help="The report's last day, e.g. 2026-12-01 (default: yesterday).")
def report(kind, day):
    """Mail the daily (one day) or weekly (seven days) figures to REPORT_EMAILS now; the
    workers also send them by themselves (REPORT_DAILY_AT; the weekly on Mondays)."""
    from datetime import date

    from .services import reports

    try:
        last = date.fromisoformat(day) if day else None
    except ValueError:
        raise click.ClickException("use a day such as 2026-12-01") from None
    jobs = reports.send(kind, last)
    if not jobs:
        raise click.ClickException("REPORT_EMAILS is empty: nobody to send the report to")
    first, last = reports.period(kind, last)
    click.echo(f"queued the {kind} report ({first} to {last}) for {len(jobs)} address(es)")
