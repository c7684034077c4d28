"""Recovery codes: ten single-use codes that stand in for a lost second factor.

Each is 10 base32 characters (50 random bits), shown once as `xxxxx-xxxxx` and stored only as
an HMAC under the factor key (crypto.factor_hashes: a stolen table alone can't be searched
offline). Using one is one conditional UPDATE (`used_at IS NULL`), so two requests with the
same code can't both pass. A new set voids the old one.
"""

import secrets

from sqlalchemy import delete, func, update

from .. import crypto
from ..extensions import db
from ..models import RecoveryCode, utcnow
from . import audit

COUNT = 10
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
LENGTH = 10


def normalize(code):
    """Lower case without spaces or dashes; None when it cannot be a recovery code."""
    value = "".join((code or "").split()).replace("-", "").lower()
    return value if len(value) == LENGTH and all(c in ALPHABET for c in value) else None


def _fresh():
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def generate(user, reason="regenerated"):
    """A new set of COUNT codes (the old ones stop working); returns them formatted, once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    key_id = crypto.factor_ring()[0]
    codes = [_fresh() for _ in range(COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, key_id=key_id,
                                    code_hash=crypto.factor_hashes("recovery", code)[key_id]) for code in codes)
    audit.record("recovery_codes.generated", user=user, detail={"count": COUNT, "reason": reason})
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def remaining(user):
    return db.session.execute(db.select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).scalar_one()


def first_set(user):
    """A set for a user who has no unused code (first enrolment); None when he has codes."""
    return generate(user, reason="first_factor") if remaining(user) == 0 else None


def use(user, code):
    """Spend one code; True when it was an unused code of this user (exactly once)."""
    value = normalize(code)
    if value is None:
        return False
    hashes = list(crypto.factor_hashes("recovery", value).values())
    spent = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None), RecoveryCode.code_hash.in_(hashes))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False))
    return spent.rowcount >= 1


def void(user):
    """Delete every code (the last factor was removed: a new one brings a new set)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
