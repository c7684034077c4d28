"""Create the benchmark accounts in authsvc's database: u0..u{N-1}@bench.example.com.

    BENCH_USERS=2000 .venv/bin/python bench/seed_authsvc.py   (with authsvc's env settings)

Every account gets the same password, hashed once at the configured BCRYPT_ROUNDS.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from authsvc import create_app  # noqa: E402
from authsvc.extensions import db  # noqa: E402
from authsvc.models import User, new_epoch, utcnow  # noqa: E402
from authsvc.services import passwords  # noqa: E402

PASSWORD = os.environ.get("BENCH_PASSWORD", "correct horse battery staple")


def main():
    count = int(os.environ.get("BENCH_USERS", "1000"))
    app = create_app({"MAIL_WORKER": "external"})
    with app.app_context():
        hashed = passwords.hash_password(PASSWORD)
        existing = set(db.session.execute(select(User.email)).scalars())
        now = utcnow()
        rows = [{"email": f"u{i}@bench.example.com", "username": f"user{i}", "password_hash": hashed,
                 "auth_epoch": new_epoch(), "active": True, "is_admin": False,
                 "notify_new_device": False, "email_verified_at": now, "created_at": now,
                 "password_changed_at": now}
                for i in range(count) if f"u{i}@bench.example.com" not in existing]
        if rows:
            db.session.execute(insert(User), rows)
        db.session.commit()
    print(f"authsvc users: {count}")


if __name__ == "__main__":
    main()
