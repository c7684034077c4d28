"""The JSON API, /api/v1: the same services as the pages, bearer tokens, one error shape."""

from flask import Blueprint

from .declare import check_answer

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.after_request(check_answer)

from . import (account, admin, factors, ip_blocks, oidc_clients, openapi, passkeys, recovery,  # noqa: E402,F401
               registration, sessions)  # (routes)
