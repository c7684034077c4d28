"""A user's passkeys: the list, how they are shown, their names; renaming and removing them.
Adding one: passkey_registration.py; using one (sign-in, a second step, a confirmation):
passkey_signin.py; what both ceremonies share (relying party, challenges): passkey_ceremony.py.
How they take part in sign-in is factors.py's and signin.py's business.
"""

from flask_babel import gettext as _

from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import Passkey
from . import aaguids, audit

MAX_PER_USER = 20
NAME_MAX = 64


# --- the list -------------------------------------------------------------------------------------
def of(user):
    return db.session.execute(db.select(Passkey).where(Passkey.user_id == user.id)
                              .order_by(Passkey.created_at, Passkey.id)).scalars().all()


def count(user):
    return len(of(user))


def one(user, passkey_id):
    row = db.session.get(Passkey, passkey_id) if isinstance(passkey_id, int) else None
    if row is None or row.user_id != user.id:
        raise NotFound(_("No such passkey."))
    return row


def describe(row):
    """A passkey as the account page and GET /me/passkeys show it."""
    aaguid = aaguids.shown(row.aaguid)
    return {"id": row.id, "name": row.name, "aaguid": aaguid, "authenticator": aaguids.name(aaguid),
            "created_at": row.created_at, "last_used_at": row.last_used_at,
            "backed_up": row.backed_up, "transports": row.transports or []}


def clean_name(name):
    value = " ".join((name or "").split())
    if not value:
        raise InvalidInput({"name": [_("Please give this passkey a name, e.g. the device it is on.")]})
    if len(value) > NAME_MAX:
        raise InvalidInput({"name": [_("At most %(num)d characters.", num=NAME_MAX)]})
    return value


# --- managing them --------------------------------------------------------------------------------
def rename(user, passkey_id, name):
    row = one(user, passkey_id)
    name = clean_name(name)
    if name != row.name:
        audit.record("factor.renamed", user=user, detail={"kind": "passkey", "passkey": row.id,
                                                          "from": row.name, "to": name})
        row.name = name
    return row


def remove(user, passkey_id):
    row = one(user, passkey_id)
    name = row.name
    db.session.delete(row)
    db.session.flush()
    audit.record("factor.removed", user=user, detail={"kind": "passkey", "passkey": passkey_id, "name": name})
    return name


def remove_all(user):
    """Every passkey of the user (an admin's reset); returns how many."""
    rows = of(user)
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    return len(rows)
