"""docs/operations.md's backup and restore, tried: its two ```sh blocks run as printed against
the real PostgreSQL. An account made by the CLI is dumped, the database dropped and created
empty, the dump restored and migrated, and the account signs in with its password again."""

import pytest

from ..support import free_port  # noqa: F401 - the support package sets up paths
from ..support.checkout import ROOT, checkout_env, commands, run_shell, sh_blocks
from .test_cluster import _answers, fresh_database  # noqa: F401 - importing it skips without Redis/PostgreSQL

pytestmark = pytest.mark.cluster

DATABASE = "authsvc_backup"
LIBPQ_URL = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/8"
PASSWORD = "a long admin passphrase"
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()


def _block(word):
    (block,) = [b for b in sh_blocks(OPERATIONS) if word in b and "docker" not in b]
    return commands(block)


def _signs_in(env):
    """A fresh app on the database signs `boss` in with his password."""
    from authsvc import create_app

    app = create_app({"AUTHSVC_ENV": "testing", "SECRET_KEY": env["SECRET_KEY"],
                      "DATABASE_URL": env["DATABASE_URL"], "REDIS_URL": REDIS_URL,
                      "MAIL_WORKER": "external", "CAPTCHA_ENABLED": False, "BCRYPT_ROUNDS": 4})
    answer = app.test_client().post("/api/v1/sessions", json={"login": "boss", "password": PASSWORD})
    from authsvc.extensions import db

    with app.app_context():
        db.engine.dispose()
    return answer.status_code


def test_the_documented_backup_and_restore_bring_an_account_back(tmp_path):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    fresh_database(DATABASE)
    env = checkout_env(tmp_path / "instance", AUTHSVC_ENV="testing", SECRET_KEY="backup-" + "k" * 40,
                       DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}",
                       REDIS_URL=REDIS_URL, MAIL_WORKER="external", DATABASE=LIBPQ_URL,
                       AUTHSVC_ADMIN_PASSWORD=PASSWORD, BCRYPT_ROUNDS="4",
                       PATH=f"{ROOT / '.venv' / 'bin'}:/usr/bin:/bin")
    for command in ("flask --app wsgi db upgrade",
                    "flask --app wsgi create-admin --email root@example.com --username boss"):
        made = run_shell(command, env)
        assert made.returncode == 0, made.stderr
    assert _signs_in(env) == 200

    backup = _block("pg_dump")
    for command in backup:
        done = run_shell(f"cd {tmp_path} && {command}", env)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
    dumps = list(tmp_path.glob("authsvc-*.dump"))
    assert len(dumps) == 1 and dumps[0].stat().st_size > 1000

    fresh_database(DATABASE)  # the disaster: an empty database
    assert _signs_in(env) != 200

    for command in _block("pg_restore"):
        if command.startswith("flask "):
            done = run_shell(command, env)
        else:
            done = run_shell(f"cd {tmp_path} && {command}", env)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
    assert _signs_in(env) == 200
