"""A small software WebAuthn authenticator: real ES256 keys, real CBOR, real signatures.

It answers the server's options the way a browser plus a platform authenticator would
(attestation "none", a discoverable credential, user verification), as the JSON the browser's
credential.toJSON() makes, so the API and page flows run without a browser. Every answer can
be bent for a test: another origin or RP id, no user verification, a chosen counter.
"""

import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
AAGUID = bytes.fromhex("ea9b8d664d011d213ce4b6b48cb575d4")  # Google Password Manager's


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Credential:
    def __init__(self, rp_id, user_handle, counter):
        self.id = os.urandom(16)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.rp_id, self.user_handle, self.counter = rp_id, user_handle, counter

    def cose_key(self):
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})


class SoftAuthenticator:
    """`origin`: where the 'browser' says it is; `counts`: whether it keeps a sign counter."""

    def __init__(self, origin="https://accounts.example.com", counts=True):
        self.origin, self.counts = origin, counts
        self.credentials = []

    def _client_data(self, kind, challenge, origin):
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def create(self, public_key, origin=None, rp_id=None, uv=True):
        """Answer creation options (the publicKey JSON); returns the credential JSON."""
        rp = rp_id or public_key["rp"]["id"]
        cred = Credential(rp, public_key["user"]["id"], 1 if self.counts else 0)
        flags = UP | AT | BE | BS | (UV if uv else 0)
        auth_data = (hashlib.sha256(rp.encode()).digest() + bytes([flags]) + struct.pack(">I", cred.counter)
                     + AAGUID + struct.pack(">H", len(cred.id)) + cred.id + cred.cose_key())
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", public_key["challenge"], origin)
        self.credentials.append(cred)
        return {"id": b64(cred.id), "rawId": b64(cred.id), "type": "public-key", "authenticatorAttachment": "platform",
                "clientExtensionResults": {},
                "response": {"clientDataJSON": b64(client_data), "attestationObject": b64(attestation),
                             "transports": ["internal", "hybrid"]}}

    def get(self, public_key, origin=None, rp_id=None, uv=True, counter=None, credential=None):
        """Answer request options; returns the assertion JSON. Picks `credential`, or one the
        options allow, or (discoverable) the newest for the RP id."""
        allowed = {item["id"] for item in public_key.get("allowCredentials") or []}
        cred = credential or next(c for c in reversed(self.credentials)
                                  if (b64(c.id) in allowed if allowed else c.rp_id == public_key["rpId"]))
        if counter is not None:
            cred.counter = counter
        elif self.counts:
            cred.counter += 1
        rp = rp_id or public_key["rpId"]
        auth_data = hashlib.sha256(rp.encode()).digest() + bytes([UP | BE | BS | (UV if uv else 0)]) \
            + struct.pack(">I", cred.counter)
        client_data = self._client_data("webauthn.get", public_key["challenge"], origin)
        signature = cred.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64(cred.id), "rawId": b64(cred.id), "type": "public-key", "authenticatorAttachment": "platform",
                "clientExtensionResults": {},
                "response": {"clientDataJSON": b64(client_data), "authenticatorData": b64(auth_data),
                             "signature": b64(signature), "userHandle": cred.user_handle}}
