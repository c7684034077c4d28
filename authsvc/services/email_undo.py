"""Undo an email change from the old address (issue 14).

The notice to the old address used to say "reset your password now" — but a reset code goes
to the account's address, which is now the new one (perhaps an intruder's). Instead the old
address gets a link: signed (itsdangerous, SECRET_KEY), bound to this change by a random id
whose record in Redis names the account and both addresses, single use (the record is
deleted by the one request that uses it), valid EMAIL_UNDO_DAYS. Using it restores the old
address, ends every session and token (epoch), voids the password (whoever changed the
address knew it), voids the account's other undo links, and mails a reset code to the
restored address.
"""

import json
import secrets

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from .. import crypto, keys
from ..crypto import token_hash
from ..errors import CodeExpired, Conflict, RateLimited
from ..extensions import db, redis_client
from ..models import User, utcnow
from . import audit, devices, mail, passwords, sendlimits, tokens
from .validation import mask_email

SALT = "authsvc-email-undo"


def _serializer():
    return URLSafeTimedSerializer(crypto.signing_keys(), salt=SALT)


def issue(user, old_email, new_email):
    """Store an undo record for this change; returns the link for the old address."""
    undo_id = secrets.token_urlsafe(16)
    digest = token_hash(undo_id)
    ttl = keys.email_undo_ttl()
    record = json.dumps({"uid": user.id, "old": old_email, "new": new_email}, separators=(",", ":"))
    pipe = redis_client.pipeline(transaction=True)
    pipe.set(keys.email_undo(digest), record, ex=ttl)
    pipe.sadd(keys.email_undo_index(user.id), digest)
    pipe.expire(keys.email_undo_index(user.id), ttl)
    pipe.execute()
    token = _serializer().dumps(undo_id)
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/email/undo/{token}"


def _invalid():
    return CodeExpired(_("This link is not valid: it was already used, has expired, or was "
                         "replaced by a later undo. Nothing was changed."))


def _load(token):
    """(record hash, record) of a link, or CodeExpired."""
    try:
        undo_id = _serializer().loads(token or "", max_age=keys.email_undo_ttl())
    except BadSignature:  # also SignatureExpired
        raise _invalid() from None
    digest = token_hash(str(undo_id))
    raw = redis_client.get(keys.email_undo(digest))
    if raw is None:
        raise _invalid()
    return digest, json.loads(raw)


def _taken(record):
    return db.session.execute(db.select(User.id).where(
        func.lower(User.email) == record["old"], User.id != record["uid"])).first() is not None


def _taken_error(record):
    return Conflict(message=_("%(email)s now belongs to another account, so this change cannot be "
                              "undone with this link. Nothing was changed. Please contact the "
                              "administrator.", email=record["old"]))


def describe(token):
    """What the confirmation page shows; raises like undo() would, changing nothing."""
    _digest, record = _load(token)
    user = db.session.get(User, record["uid"])
    if user is None:
        raise _invalid()
    if _taken(record):
        raise _taken_error(record)
    return {"email": record["old"], "new_email": mask_email(record["new"]), "username": user.username}


def undo(token):
    """Restore the old address; end everything; ask for a new password by a code sent there.

    Returns {"email", "masked", "code_sent"}.
    """
    digest, record = _load(token)
    user = db.session.get(User, record["uid"])
    if user is None:
        raise _invalid()
    if _taken(record):
        audit.record("email.undo_refused", "failure", user=user, detail={"reason": "address_taken"})
        raise _taken_error(record)
    if not redis_client.delete(keys.email_undo(digest)):
        raise _invalid()  # another request used it a moment ago
    old_email, new_email = record["old"], record["new"]
    user.email = old_email
    user.email_verified_at = utcnow()
    try:
        db.session.flush()
    except IntegrityError:  # taken between the check and now
        db.session.rollback()
        raise _taken_error(record) from None
    _void_other_links(user.id)
    redis_client.delete(keys.pending_email_change(user.id))
    user.password_hash = passwords.hash_password(secrets.token_urlsafe(32))  # nobody knows it
    user.password_changed_at = utcnow()
    tokens.end_all(user)
    devices.forget_all(user)
    audit.record("email.change_undone", user=user,
                 detail={"restored": mask_email(old_email), "dropped": mask_email(new_email)})
    try:
        sendlimits.charge_send(old_email, None, "reset")
        # ALWAYS: the worker may read the database before this request commits the restored address
        mail.send_code("reset", old_email, account=mail.ALWAYS)
        sent = True
    except RateLimited:
        sent = False  # the reset page can ask for one once the address's limit allows
    return {"email": old_email, "masked": mask_email(old_email), "code_sent": sent}


def _void_other_links(user_id):
    index = keys.email_undo_index(user_id)
    digests = [d.decode() for d in redis_client.smembers(index)]
    pipe = redis_client.pipeline(transaction=False)
    for digest in digests:
        pipe.delete(keys.email_undo(digest))
    pipe.delete(index)
    pipe.execute()
