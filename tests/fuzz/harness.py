"""What the schemathesis runs share: the schema, the checks, the budget, the accounts."""

import json
import os

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, ignored_auth,
                                               response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from authsvc.api.openapi import document
from authsvc.extensions import db
from authsvc.models import User
from authsvc.services import signin, tokens

from ..support import clean_state

BUDGET = int(os.environ.get("FUZZ_BUDGET") or 1)  # examples per operation
SEED = os.environ.get("FUZZ_SEED")  # unset: derandomized, the same cases every run
PASSWORD = "fuzzing is fun 2026"

# Every response: no 5xx; status code, content type, body and required headers as documented;
# operations that declare bearerAuth refuse the same request without a token or with a bad one.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, ignored_auth]


def budget(share=1.0, **extra):
    return settings(max_examples=max(1, int(BUDGET * share)), deadline=None, database=None,
                    derandomize=SEED is None, suppress_health_check=list(HealthCheck), **extra)


def load_schema(app=None):
    """The document from authsvc.api.openapi (the app serves exactly this; tests/test_openapi.py
    checks), or fetched from the app's /api/v1/openapi.json."""
    config = schemathesis.Config.from_dict({"seed": int(SEED)}) if SEED else None
    if app is not None:
        return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    return schemathesis.openapi.from_dict(json.loads(json.dumps(document())), config=config)


# Loaded at import time, without an app: schemathesis' fixture-based loader
# (schemathesis.pytest.from_fixture) fails under pytest 9.2 (it sets Node._nodeid).
SCHEMA = load_schema()


def send(case, app, accounts, who="admin"):
    """Call the operation in-process with a fresh token of `who` and run every check."""
    # The WSGI transport, also for the requests that checks send on their own (ignored_auth).
    case.operation.app = case.operation.schema.app = app
    return case.call_and_validate(headers=accounts.headers(who), checks=CHECKS)


class Accounts:
    """A plain user and an admin; headers() hands out a fresh token for each request."""

    def __init__(self, service):
        self.service = service
        self.app = service.app
        self.sign_up()

    def reset(self):
        """Empty Redis and the database and sign the two accounts up again."""
        clean_state(self.app)
        self.service.mailbox.server.clear()
        self.sign_up()

    def sign_up(self):
        service = self.service
        user, _token = service.register_user(email="user@example.com", username="fuzzuser", password=PASSWORD)
        admin, _token = service.register_user(email="admin@example.com", username="fuzzadmin", password=PASSWORD)
        self.ids = {"user": user["id"], "admin": admin["id"]}
        with self.app.app_context():
            db.session.get(User, admin["id"]).is_admin = True
            db.session.commit()

    def headers(self, who="admin"):
        """A new password token for `who`, after undoing what earlier requests may have done to
        the accounts (a deactivation by the admin, a lockout after wrong passwords), so that
        every operation keeps being reached past its authentication."""
        with self.app.app_context():
            users = {name: db.session.get(User, uid) for name, uid in self.ids.items()}
            for user in users.values():
                user.active = True
                signin.clear_lockout(user)
            db.session.commit()
            token, _ttl = tokens.issue_api_token(users[who], "password")
            db.session.remove()
        return {"Authorization": f"Bearer {token}"}
