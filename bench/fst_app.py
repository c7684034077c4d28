"""The benchmark peer: a minimal Flask-Security-Too app (its quickstart, fsqla_v3 models).

Runs from bench/.venv-fst under gunicorn (`gunicorn -c gunicorn.conf.py fst_app:app`), with
the same worker count as authsvc, its default argon2 password hash, and its mail sent
synchronously inside the request to the benchmark's SMTP sink. Settings come from the
environment: FST_DATABASE_URL, MAIL_SERVER, MAIL_PORT, SECRET_KEY.
"""

import os

from flask import Flask
from flask_security import Security, SQLAlchemyUserDatastore, hash_password
from flask_security.models import fsqla_v3 as fsqla
from flask_sqlalchemy import SQLAlchemy
from flask_mail import Mail

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ.get("SECRET_KEY", "bench-fst-secret-key-0123456789abcdef0123456789"),
    SECURITY_PASSWORD_SALT=os.environ.get("FST_PASSWORD_SALT", "bench-fst-salt-0123456789"),
    SQLALCHEMY_DATABASE_URI=os.environ["FST_DATABASE_URL"],
    SQLALCHEMY_ENGINE_OPTIONS=({"pool_pre_ping": True} if os.environ["FST_DATABASE_URL"].startswith("postgresql")
                               else {"connect_args": {"timeout": 30}}),
    SECURITY_RECOVERABLE=True,
    SECURITY_REGISTERABLE=False,
    SECURITY_EMAIL_VALIDATOR_ARGS={"check_deliverability": False},  # no DNS on this machine
    # CSRF stays on, as in any real deployment: its /login page renders a token (kept in its
    # cookie session) just as authsvc's does (kept in the Redis session). Unauthenticated JSON
    # endpoints such as POST /reset skip the check, so the reset load needs no token.
    WTF_CSRF_ENABLED=True,
    SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS=True,
    MAIL_SERVER=os.environ.get("MAIL_SERVER", "127.0.0.1"),
    MAIL_PORT=int(os.environ.get("MAIL_PORT", "25")),
    MAIL_USE_TLS=False,
    MAIL_USE_SSL=False,
    MAIL_DEFAULT_SENDER="noreply@bench.example.com",
    SECURITY_EMAIL_SENDER="noreply@bench.example.com",
)

db = SQLAlchemy(app)
Mail(app)  # FST sends through Flask-Mail when the app has initialised it
fsqla.FsModels.set_db_info(db)


class Role(db.Model, fsqla.FsRoleMixin):
    pass


class User(db.Model, fsqla.FsUserMixin):
    pass


class WebAuthn(db.Model, fsqla.FsWebAuthnMixin):  # the v3 user model refers to it
    pass


user_datastore = SQLAlchemyUserDatastore(db, User, Role)
app.security = Security(app, user_datastore)


@app.cli.command("seed")
def seed():
    """Create the tables and bench users u0..u{N-1}@bench.example.com (FST_USERS, one password)."""
    import uuid

    count = int(os.environ.get("FST_USERS", "1000"))
    password = os.environ.get("BENCH_PASSWORD", "correct horse battery staple")
    db.create_all()
    hashed = hash_password(password)  # one argon2 hash, stored for every bench user
    existing = {u.email for u in db.session.execute(db.select(User)).scalars()}
    for i in range(count):
        email = f"u{i}@bench.example.com"
        if email not in existing:
            db.session.add(User(email=email, password=hashed, active=True,
                                fs_uniquifier=uuid.uuid4().hex))
    db.session.commit()
    print(f"FST users: {count}")
