"""The local development issuer: signs demo tokens so the demo needs no identity provider.

Its P-256 key lives in ``<data_dir>/dev-issuer-key.pem`` (created on first use, mode 0600), so
``summary-gateway token`` and a running ``summary-gateway serve`` share it. It is trusted only when
``auth.dev_issuer`` is set, which the settings refuse together with any real issuer and on a
non-loopback host (see ``Settings``); its tokens carry an issuer and audience no real deployment
uses, so they validate nowhere else either.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt import PyJWKSet
from jwt.algorithms import ECAlgorithm

from gateway.settings import IssuerSettings

DEV_ISSUER = "urn:summary-gateway:dev-issuer"
DEV_AUDIENCE = "urn:summary-gateway:demo"
KEY_FILE = "dev-issuer-key.pem"
TOKEN_LIFETIME_S = 8 * 3600  # one working shift


def dev_issuer_settings() -> IssuerSettings:
    """The development issuer as a trusted-issuer entry (its keys are local, not fetched)."""
    return IssuerSettings(
        issuer=DEV_ISSUER, jwks_url="file:dev-issuer", audience=DEV_AUDIENCE, algorithms=("ES256",)
    )


def load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key in ``path``, made there first (mode 0600) when there is none: the
    development keys (this issuer's, the IPS signer's) live in the data directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} does not hold an EC private key")
    return loaded


class DevIssuer:
    """Signs tokens with the local key and publishes its public half as a JWKS."""

    def __init__(self, data_dir: Path) -> None:
        self._key = load_or_create_key(data_dir / KEY_FILE)
        public = json.loads(ECAlgorithm.to_jwk(self._key.public_key()))
        self.kid = _thumbprint(public)
        self._jwk = {**public, "kid": self.kid, "use": "sig", "alg": "ES256"}

    def jwks(self) -> PyJWKSet:
        """The public key set the gateway verifies demo tokens with."""
        return PyJWKSet.from_dict(self.jwks_document())

    def jwks_document(self) -> dict[str, Any]:
        """The public key set as a JWKS document (what an issuer publishes)."""
        return {"keys": [dict(self._jwk)]}

    def token(
        self,
        claims: Mapping[str, Any],
        lifetime_s: int = TOKEN_LIFETIME_S,
        now: float | None = None,
    ) -> str:
        """A signed token with ``claims`` plus issuer, audience, times and a fresh ``jti``."""
        issued = int(now if now is not None else time.time())
        payload = {
            "iss": DEV_ISSUER,
            "aud": DEV_AUDIENCE,
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime_s,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return self.sign(payload)

    def sign(self, payload: Mapping[str, Any], kid: str | None = None) -> str:
        """``payload`` exactly as given, signed (tests use it to build broken tokens)."""
        return jwt.encode(
            dict(payload), self._key, algorithm="ES256", headers={"kid": kid or self.kid}
        )


def _thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 thumbprint of an EC public key: a stable, content-derived ``kid``."""
    members = json.dumps(
        {name: jwk[name] for name in ("crv", "kty", "x", "y")}, separators=(",", ":")
    ).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(members).digest()).rstrip(b"=").decode()
