"""flask --app wsgi oidc-client create|list|delete: apps that sign their users in through us."""

import click
from flask.cli import AppGroup

from .errors import ServiceError
from .extensions import db

oidc_group = AppGroup("oidc-client", help="OpenID Connect clients (apps that sign in through authsvc).")


def _fail(error):
    fields = error.extra.get("fields") or {}
    details = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
    raise click.ClickException(details or error.message)


@oidc_group.command("create")
@click.option("--name", required=True, help="Shown to users on the consent page and /account.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True,
              help="Exact callback URL (repeat for several).")
@click.option("--post-logout-uri", "post_logout_uris", multiple=True,
              help="Where /oauth/logout may send the user afterwards (repeat for several).")
@click.option("--public", is_flag=True, help="No secret (single-page or native app); PKCE required.")
@click.option("--trusted", is_flag=True, help="First-party app: no consent page.")
@click.option("--scope", "scopes", multiple=True, help="Allowed scopes (default: openid profile email).")
def create(name, redirect_uris, post_logout_uris, public, trusted, scopes):
    """Register a client; prints its client_id and, once, its secret."""
    from .services.oidc import clients

    split = [s for value in scopes for s in value.replace(",", " ").split()]
    try:
        row, secret = clients.create_client(name, list(redirect_uris), public=public, trusted=trusted,
                                            scopes=split or None, post_logout_redirect_uris=list(post_logout_uris))
        db.session.commit()
    except ServiceError as error:
        _fail(error)
    click.echo(f"client_id: {row.client_id}")
    if secret:
        click.echo(f"client_secret: {secret}")
        click.echo("The secret is shown only now; only its hash is stored.", err=True)


@oidc_group.command("list")
def list_clients():
    """List clients: client_id, name, kind, scopes, redirect URIs."""
    from .services.oidc import clients

    for row in clients.list_clients():
        info = clients.describe(row)
        kind = "public" if info["public"] else "confidential"
        click.echo(f"{info['client_id']}\t{info['name']}\t{kind}{' trusted' if info['trusted'] else ''}\t"
                   f"{' '.join(info['scopes'])}\t{' '.join(info['redirect_uris'])}")


@oidc_group.command("delete")
@click.argument("client_id")
def delete(client_id):
    """Delete a client: its consents and refresh tokens end with it."""
    from .services.oidc import clients

    try:
        clients.delete_client(client_id)
        db.session.commit()
    except ServiceError as error:
        _fail(error)
    click.echo(f"deleted {client_id}")
