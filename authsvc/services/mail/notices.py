"""Security notices mailed to account owners (lockout, password and email changes, new device)."""

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ... import crypto, keys
from ...extensions import db, redis_client
from ...models import User
from .. import audit
from .enqueue import queue_mail

UNSUBSCRIBE_SALT = "authsvc-unsubscribe"


def security_alert(user, kind, to=None, essential=True, **context):
    """Queue a security_alert mail of `kind` to the user (or to `to`, e.g. an old address)."""
    context = dict(context, kind=kind, username=user.username)
    if not essential:
        context["unsubscribe_url"] = unsubscribe_url(user)
    return queue_mail("security_alert", to or user.email, context, essential=essential,
                      lang=user.locale or None)


def new_device(user):
    """The non-essential new-device notice, unless the user switched it off.

    At most one an hour per account: whoever can sign in from fresh devices can't use the
    notice to flood the owner's mailbox (the first one already says what to do).
    """
    if user.notify_new_device and redis_client.set(keys.notice_sent("new_device", user.id), "1",
                                                   nx=True, ex=keys.NOTICE_INTERVAL):
        security_alert(user, "new_device", essential=False)


def set_new_device(user, enabled, via="settings"):
    """Switch the new-device notice on or off (account page, API, or an unsubscribe link)."""
    if user.notify_new_device != enabled:
        user.notify_new_device = enabled
        audit.record("notifications.changed", user=user, detail={"new_device": enabled, "via": via})


def _serializer():
    return URLSafeSerializer(crypto.signing_keys(), salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(user):
    # `to`: the link belongs to the mailbox it is mailed to (a keyed hash, not the address)
    token = _serializer().dumps({"uid": user.id, "what": "new_device", "to": crypto.address_id(user.email)})
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/notifications/unsubscribe/{token}"


def unsubscribe_account(token):
    """The account an unsubscribe link was made for, or None when it was tampered with or the
    account has moved to another address since: whoever still reads the old mailbox must not
    keep a say over the account's notices."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    user = db.session.get(User, data["uid"])
    if user is None or data.get("to") != crypto.address_id(user.email):
        return None
    return user
