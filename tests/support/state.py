"""Test state shared by every suite: the secret, the captcha text, and a clean slate."""

from sqlalchemy import text

from authsvc.extensions import db

TEST_SECRET = "test-secret-key-for-authsvc-tests-only-0123456789"
CAPTCHA_TEXT = "K7MX"
TABLES = ("oauth_refresh_tokens", "oauth_consents", "oauth_subjects", "oauth_clients", "daily_figures", "passkeys",
          "recovery_codes", "totp_factors", "invite_uses", "audit_events", "invite_codes", "users")


def clean_state(app):
    """Empty the Redis database and every table (fresh ids on PostgreSQL)."""
    with app.app_context():
        app.extensions["authsvc.redis"].flushdb()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                db.session.execute(text(f"DELETE FROM {table}"))
        db.session.commit()
