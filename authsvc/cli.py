"""Flask CLI commands (flask --app wsgi ...)."""

import click
from flask import current_app


def register(app):
    @app.cli.command("mail-worker")
    @click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
    def mail_worker(once):
        """Run a mail delivery worker (MAIL_WORKER=external)."""
        import signal

        from .services.worker import MailWorker

        worker = MailWorker(current_app._get_current_object())
        if once:
            click.echo(f"delivered: {worker.drain()}")
            return
        signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        signal.signal(signal.SIGINT, lambda *_: worker.stop())
        worker.run()
