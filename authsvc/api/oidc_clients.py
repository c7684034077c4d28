"""API: OpenID Connect clients, for admins (the same service as the CLI and /admin/apps)."""

from typing import Annotated, Literal

from flask import g, jsonify
from pydantic import Field

from ..services.oidc import clients
from . import bp
from .bearer import admin_required
from .declare import Answer, operation
from .inputs import accepts
from .replies import Reply
from .schemas import Body

Uri = Annotated[str, Field(min_length=1, max_length=512)]
Scope = Literal["openid", "profile", "email"]


class OidcClientCreate(Body):
    name: Annotated[str, Field(min_length=1, max_length=80)]
    redirect_uris: Annotated[list[Uri], Field(min_length=1, max_length=20, description="exact callback URLs")]
    post_logout_redirect_uris: Annotated[list[Uri], Field(max_length=20)] = []
    public: Annotated[bool, Field(description="no secret; PKCE (S256) required")] = False
    trusted: Annotated[bool, Field(description="first-party: no consent page")] = False
    scopes: Annotated[list[Scope] | None, Field(description="default: openid profile email")] = None


class OidcClient(Reply):
    client_id: str
    name: str
    public: bool
    trusted: bool
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    scopes: list[str]


class OidcClientCreated(OidcClient):
    client_secret: Annotated[str | None, Field(description="shown this once (null for a public client)")]


class OidcClientList(Reply):
    items: list[OidcClient]


@bp.get("/admin/oidc-clients")
@operation("admin_oidc_clients", "Registered OpenID Connect clients", {200: Answer(OidcClientList, "Clients")})
@admin_required
def admin_oidc_clients():
    return jsonify({"items": [clients.describe(row) for row in clients.list_clients()]})


@bp.post("/admin/oidc-clients")
@operation("admin_create_oidc_client", "Register an OpenID Connect client; its secret is in this answer only", {
    201: Answer(OidcClientCreated, "Registered", {"delete": {
        "operationId": "admin_delete_oidc_client", "parameters": {"path.client_id": "$response.body#/client_id"}}})},
    errors=(422,))
@admin_required
@accepts(OidcClientCreate)
def admin_create_oidc_client(body):
    row, secret = clients.create_client(body.name, list(body.redirect_uris), public=body.public, trusted=body.trusted,
                                        scopes=list(body.scopes) if body.scopes else None,
                                        post_logout_redirect_uris=list(body.post_logout_redirect_uris), actor=g.user)
    return jsonify({**clients.describe(row), "client_secret": secret}), 201, {"Cache-Control": "no-store"}


@bp.delete("/admin/oidc-clients/<client_id>")
@operation("admin_delete_oidc_client", "Delete a client: its users' consents and refresh tokens end",
           {204: Answer(None, "Deleted")}, errors=(404,))
@admin_required
def admin_delete_oidc_client(client_id):
    clients.delete_client(client_id, actor=g.user)
    return "", 204
