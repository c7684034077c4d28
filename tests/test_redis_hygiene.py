"""Every per-person or secret key in Redis expires; no plaintext code or password anywhere."""

from authsvc import keys

PASSWORD = "correct horse battery"
LIVE_ON = {keys.MAIL_QUEUE, keys.MAIL_DELAYED, keys.MAIL_WORKERS, keys.MAIL_STATS, keys.MAIL_LATENCY}


def _all_values(redis):
    for key in redis.scan_iter("*"):
        kind = redis.type(key).decode()
        if kind == "string":
            yield key, [redis.get(key)]
        elif kind == "hash":
            yield key, [v for pair in redis.hgetall(key).items() for v in pair]
        elif kind == "list":
            yield key, redis.lrange(key, 0, -1)
        elif kind == "set":
            yield key, list(redis.smembers(key))
        elif kind == "zset":
            yield key, [m for m, _ in redis.zrange(key, 0, -1, withscores=True)]


def test_keys_expire_and_hold_no_secrets(app, api, mailbox):
    # a pending registration, a queued code mail, a confirmed account with a token
    api.register(email="alice@example.com", username="alice", password=PASSWORD)
    api.register(email="bob@example.com", username="bob", password=PASSWORD + " two")
    redis = app.extensions["authsvc.redis"]
    queued_code_mail = [k for k in redis.scan_iter("authsvc:mail:job:*")]
    assert queued_code_mail, "the code mail should be queued (not yet delivered)"
    codes = []
    for address in ("alice@example.com", "bob@example.com"):
        codes.append(mailbox.code(address))
    api.confirm_registration("alice@example.com", codes[0])
    api.register(email="carol@example.com", username="carol", password=PASSWORD)  # still pending
    secrets = [c.encode() for c in codes] + [PASSWORD.encode()]
    seen = 0
    for key, values in _all_values(redis):
        name = key.decode()
        seen += 1
        if name not in LIVE_ON:
            assert redis.ttl(key) > 0, f"{name} never expires"
        assert "@" not in name, f"address in key name {name}"
        for value in values:
            for secret in secrets:
                assert secret not in value, f"plaintext secret in {name}"
    assert seen > 5
    # the pending registration holds a bcrypt hash, not the password
    pending = [k for k in redis.scan_iter("authsvc:reg:*")]
    assert pending and all(b"$2b$" in redis.get(k) for k in pending)
