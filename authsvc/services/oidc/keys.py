"""ID token signing keys: OIDC_SIGNING_KEYS names PEM files; the first signs, all are published.

RSA keys sign with RS256, EC P-256 keys with ES256. Without the setting, development and
testing use one RSA key generated into the instance folder; production has no provider then.
Rotation: put the new key first and keep the old one listed until the ID tokens it signed have
expired (OIDC_ID_TOKEN_TTL), so clients holding them can still check them against the JWKS.
"""

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import current_app
from joserfc.jwk import ECKey, KeySet, RSAKey

from ... import config as settings

EXTENSION = "authsvc.oidc_keys"
GENERATED = "oidc_signing_key.pem"


class SigningKeys:
    def __init__(self, keys):
        self.keys = keys  # [(joserfc key, alg)], the first signs

    @property
    def signing(self):
        return self.keys[0]

    def key_set(self):
        return KeySet([key for key, _alg in self.keys])

    def jwks(self):
        published = []
        for key, alg in self.keys:
            public = key.as_dict(private=False)
            public.update(use="sig", alg=alg, kid=key.kid)
            published.append(public)
        return {"keys": published}

    def algorithms(self):
        return sorted({alg for _key, alg in self.keys})


def _load_pem(data, origin):
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise RuntimeError(f"OIDC_SIGNING_KEYS: {origin} is not an unencrypted PEM private key") from exc
    if isinstance(private, rsa.RSAPrivateKey) and private.key_size >= 2048:
        key, alg = RSAKey.import_key(data), "RS256"
    elif isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name == "secp256r1":
        key, alg = ECKey.import_key(data), "ES256"
    else:
        raise RuntimeError(f"OIDC_SIGNING_KEYS: {origin} must be RSA (2048+ bits) or EC P-256")
    key.ensure_kid()  # the RFC 7638 thumbprint
    return key, alg


def load(config, instance_path):
    """The configured keys (a start with a bad file fails here), the generated development key,
    or None (production without keys: no provider)."""
    paths = [p.strip() for p in (config.get("OIDC_SIGNING_KEYS") or "").split(",") if p.strip()]
    if not paths:
        if config["AUTHSVC_ENV"] == settings.PRODUCTION:
            return None
        paths = [str(_generated(Path(instance_path) / GENERATED))]
    keys = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise RuntimeError(f"OIDC_SIGNING_KEYS: {path} cannot be read: {exc.strerror}") from None
        keys.append(_load_pem(data, path))
    return SigningKeys(keys)


def _generated(path):
    if path.exists():
        return path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    # written aside, then linked into place: another process of the same instance never reads
    # a half-written file, and the first link wins
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path


def current():
    """This app's keys, or None when the provider is off."""
    return current_app.extensions.get(EXTENSION)
