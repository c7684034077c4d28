"""Security notices mailed to account owners (lockout, password and email changes, new device)."""

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from .. import keys
from ..extensions import redis_client
from . import mail

UNSUBSCRIBE_SALT = "authsvc-unsubscribe"


def security_alert(user, kind, to=None, essential=True, **context):
    """Queue a security_alert mail of `kind` to the user (or to `to`, e.g. an old address)."""
    context = dict(context, kind=kind, username=user.username)
    if not essential:
        context["unsubscribe_url"] = unsubscribe_url(user)
    return mail.queue_mail("security_alert", to or user.email, context, essential=essential,
                           lang=user.locale or None)


def new_device(user):
    """The non-essential new-device notice, unless the user switched it off.

    At most one an hour per account: whoever can sign in from fresh devices can't use the
    notice to flood the owner's mailbox (the first one already says what to do).
    """
    if user.notify_new_device and redis_client.set(keys.notice_sent("new_device", user.id), "1",
                                                   nx=True, ex=keys.NOTICE_INTERVAL):
        security_alert(user, "new_device", essential=False)


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(user):
    token = _serializer().dumps({"uid": user.id, "what": "new_device"})
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/notifications/unsubscribe/{token}"


def read_unsubscribe_token(token):
    """The user id an unsubscribe link was made for, or None when it was tampered with."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    return data.get("uid") if isinstance(data, dict) else None
