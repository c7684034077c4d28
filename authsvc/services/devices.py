"""Devices that passed a sign-in: a signed token on the client, its id in a Redis sorted set.

Deleting the set (password reset) makes every device new again. Only the most recent
MAX_DEVICES are kept, so clients that never send their token can't grow it without bound.
"""

import hmac
import secrets
import time

from .. import crypto, keys
from ..extensions import redis_client

MAX_DEVICES = 50


def _signature(user, device_id):
    return crypto.keyed_hash("device", user.id, device_id)[:32]


def remember(user):
    """Record a new device for the user; returns the token the client keeps."""
    device_id = secrets.token_urlsafe(12)
    key = keys.known_devices(user.id)
    pipe = redis_client.pipeline(transaction=True)
    pipe.zadd(key, {device_id: time.time()})
    pipe.zremrangebyrank(key, 0, -MAX_DEVICES - 1)
    pipe.expire(key, keys.known_devices_ttl())
    pipe.execute()
    return f"{device_id}.{_signature(user, device_id)}"


def is_known(user, token):
    """True when the token was issued to this user and its device is still remembered."""
    device_id, _dot, signature = (token or "").partition(".")
    if not device_id or len(token) > 128 or not hmac.compare_digest(signature, _signature(user, device_id)):
        return False
    return redis_client.zscore(keys.known_devices(user.id), device_id) is not None


def forget_all(user):
    redis_client.delete(keys.known_devices(user.id))
