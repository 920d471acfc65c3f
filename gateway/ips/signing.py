"""Signed summary documents: who made an International Patient Summary, and that it is unchanged.

With ``GATEWAY_IPS__SIGNING=on`` every document Bundle the gateway answers carries a FHIR R4
``Bundle.signature`` (a ``Signature``): ``type`` Verification Signature (``urn:iso-astm:E1762-
95:2013#1.2.840.10065.1.12.1.5``), ``when``, ``who`` (the gateway's Device), ``targetFormat``
``application/fhir+json;canonicalization=http://hl7.org/fhir/canonicalization/json#document``,
``sigFormat`` ``application/jose``, and ``data``: the base64 of a compact JWS whose payload is
detached (RFC 7515 Appendix F: ``<header>..<signature>``).

What is signed: the Bundle with ``Bundle.id``, ``Bundle.meta`` and ``Bundle.signature`` removed
(FHIR R4's ``json#document`` canonicalization, so a copy stored under another id on another server
still verifies), written as RFC 8785 canonical JSON (``gateway/ips/jcs.py``), which satisfies
FHIR's canonical JSON rules (no whitespace outside values, properties in alphabetical order).
Everything else is covered: every entry, the narrative, the Composition. The JWS header holds
``alg`` (ES256 or RS256), ``kid``, and ``sigT``, the signing time, which must equal
``Signature.when``; ``Signature.who`` is not covered: the key, named by ``kid``, says who signed.
Numbers are signed as values, so ``1.50`` and ``1.5`` are the same signed document.

The public keys are at ``GET /fhir/.well-known/jwks.json`` (a JWKS; empty while signing is off).

To verify a saved document::

    summary-gateway verify-document summary.json --jwks https://gateway.example/fhir/.well-known/jwks.json

or with any JOSE library: take the JWS from base64 ``signature.data``; remove ``id``, ``meta`` and
``signature`` from the Bundle and canonicalize the rest with RFC 8785 (JCS); put the base64url of
those bytes between the JWS's two dots; verify that JWS with the JWKS key of its ``kid``, allowing
only ES256/RS256 (never ``none`` or HS*).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.api_jws import PyJWS
from jwt.utils import base64url_encode
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.access.dev_issuer import load_or_create_key
from gateway.errors import ConfigurationError
from gateway.ips.jcs import canonical_json
from gateway.settings import ASYMMETRIC_ALGORITHMS, Settings

CANONICALIZATION = "http://hl7.org/fhir/canonicalization/json#document"
TARGET_FORMAT = f"application/fhir+json;canonicalization={CANONICALIZATION}"
SIG_FORMAT = "application/jose"
VERIFICATION_SIGNATURE = {
    "system": "urn:iso-astm:E1762-95:2013",
    "code": "1.2.840.10065.1.12.1.5",
    "display": "Verification Signature",
}
"""The R4 value set signature-type's code for a signature that the content is what was sent."""
JWKS_PATH = "/fhir/.well-known/jwks.json"
DEV_KEY_FILE = "ips-signing-key.pem"
_MIN_RSA_BITS = 2048
_UNSIGNED_ROOT_ELEMENTS = ("id", "meta", "signature")
"""What ``json#document`` leaves out of the root Bundle (and the signature cannot sign itself)."""


class SignatureInvalid(ValueError):
    """The document's signature is missing, malformed, by an unknown key, or does not match."""


@dataclass(frozen=True)
class SignatureCheck:
    """A signature that verified: by which key, with which algorithm, when."""

    kid: str
    alg: str
    when: str


def canonical_bytes(bundle: Mapping[str, Any]) -> bytes:
    """The bytes a document's signature covers: the Bundle without ``id``, ``meta`` and
    ``signature`` (FHIR R4 canonicalization ``json#document``) as RFC 8785 canonical JSON.
    ``ValueError`` when it is not a Bundle or holds what JSON cannot."""
    if bundle.get("resourceType") != "Bundle":
        raise ValueError("only a Bundle is signed as a document")
    signed = {name: value for name, value in bundle.items() if name not in _UNSIGNED_ROOT_ELEMENTS}
    return canonical_json(signed)


PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class DocumentSigner:
    """Signs document Bundles with one private key; publishes its public half as a JWKS."""

    def __init__(self, key: PrivateKey, kid: str | None = None) -> None:
        public: dict[str, Any]
        if isinstance(key, ec.EllipticCurvePrivateKey):
            if not isinstance(key.curve, ec.SECP256R1):
                raise ValueError(f"an EC signing key must be P-256, not {key.curve.name}")
            self.algorithm = "ES256"
            public = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        elif isinstance(key, rsa.RSAPrivateKey):
            if key.key_size < _MIN_RSA_BITS:
                raise ValueError(f"an RSA signing key needs at least {_MIN_RSA_BITS} bits")
            self.algorithm = "RS256"
            public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        else:
            raise ValueError("the signing key must be an EC P-256 or RSA private key")
        self._key = key
        self.kid = kid or jwk_thumbprint(public)
        self._jwk = {**public, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    @classmethod
    def load(cls, path: Path, kid: str | None = None) -> DocumentSigner:
        """The signer of the unencrypted PEM private key in ``path`` (``OSError``, ``ValueError``
        when it cannot be read or is not a usable key)."""
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ValueError(f"{path} holds neither an EC nor an RSA private key")
        return cls(key, kid)

    @classmethod
    def generate(cls, path: Path, kid: str | None = None) -> DocumentSigner:
        """A development signer: a new P-256 key written to ``path`` (mode 0600) unless one is
        there already, as the development issuer keeps its key."""
        return cls(load_or_create_key(path), kid)

    def sign(
        self, bundle: Mapping[str, Any], *, who: Mapping[str, Any], at: datetime | None = None
    ) -> dict[str, Any]:
        """A new dict: ``bundle`` with a ``signature`` by this key (any old one is replaced),
        ``who`` being the Reference to the signing Device, ``at`` the signing time (now)."""
        when = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {"kid": self.kid, "sigT": when, "typ": None}  # None: no "typ": it is no JWT
        attached = PyJWS().encode(
            canonical_bytes(bundle), self._key, algorithm=self.algorithm, headers=headers
        )
        header, _payload, signature = attached.split(".")
        detached = f"{header}..{signature}"  # RFC 7515 Appendix F
        return {
            **bundle,
            "signature": {
                "type": [dict(VERIFICATION_SIGNATURE)],
                "when": when,
                "who": dict(who),
                "targetFormat": TARGET_FORMAT,
                "sigFormat": SIG_FORMAT,
                "data": base64.b64encode(detached.encode("ascii")).decode("ascii"),
            },
        }

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWK Set, with ``kid``, ``use`` and ``alg``."""
        return {"keys": [dict(self._jwk)]}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of an EC or RSA public JWK (base64url, no padding)."""
    required = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    members = json.dumps({name: jwk[name] for name in required}, separators=(",", ":"))
    return base64url_encode(hashlib.sha256(members.encode()).digest()).decode()


def verify_document(bundle: Mapping[str, Any], jwks: Mapping[str, Any]) -> SignatureCheck:
    """Check the signature of a signed document Bundle against a JWK Set; ``SignatureInvalid``
    says why it does not hold."""
    signature = bundle.get("signature")
    if not isinstance(signature, Mapping):
        raise SignatureInvalid("the document has no signature")
    if signature.get("sigFormat") != SIG_FORMAT:
        raise SignatureInvalid(f"the signature's sigFormat is not {SIG_FORMAT}")
    if signature.get("targetFormat", TARGET_FORMAT) != TARGET_FORMAT:
        raise SignatureInvalid(f"the signature is not over {CANONICALIZATION}")
    header, signature_part = _detached_jws(signature.get("data"))
    try:
        protected = jwt.get_unverified_header(f"{header}..{signature_part}")
    except jwt.PyJWTError as exc:
        raise SignatureInvalid(f"the signature's JWS header cannot be read: {exc}") from exc
    alg, kid = protected.get("alg"), protected.get("kid")
    if alg not in ASYMMETRIC_ALGORITHMS:
        raise SignatureInvalid(f"the signature's algorithm {alg!r} is not allowed")
    if not isinstance(kid, str):
        raise SignatureInvalid("the signature names no key (kid)")
    key = _key(jwks, kid, alg)
    try:
        payload = base64url_encode(canonical_bytes(bundle)).decode("ascii")
    except ValueError as exc:
        raise SignatureInvalid(f"the document cannot be canonicalized: {exc}") from exc
    try:
        PyJWS().decode_complete(f"{header}.{payload}.{signature_part}", key, algorithms=[alg])
    except jwt.PyJWTError as exc:
        raise SignatureInvalid(f"the signature does not match the document: {exc}") from exc
    when = signature.get("when")
    if not isinstance(when, str) or protected.get("sigT") != when:
        raise SignatureInvalid("Signature.when is not the signing time (sigT) the JWS holds")
    return SignatureCheck(kid=kid, alg=alg, when=when)


def _detached_jws(data: Any) -> tuple[str, str]:
    if not isinstance(data, str):
        raise SignatureInvalid("the signature has no data")
    try:
        compact = base64.b64decode(data, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise SignatureInvalid("the signature's data is not base64 of a JWS") from exc
    parts = compact.split(".")
    if len(parts) != 3 or parts[1] or not parts[0] or not parts[2]:
        raise SignatureInvalid("the signature's data is not a compact JWS with detached payload")
    return parts[0], parts[2]


def _key(jwks: Mapping[str, Any], kid: str, alg: str) -> jwt.PyJWK:
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        raise SignatureInvalid("the key set is not a JWKS (no keys list)")
    for candidate in keys:
        if isinstance(candidate, Mapping) and candidate.get("kid") == kid:
            if candidate.get("use", "sig") != "sig":
                raise SignatureInvalid(f"key {kid} is not a signing key")
            try:
                # The JWK's own alg wins; without one, the (allowed) alg of the header.
                return jwt.PyJWK(dict(candidate), None if "alg" in candidate else alg)
            except jwt.PyJWTError as exc:
                raise SignatureInvalid(f"key {kid} in the key set is not usable: {exc}") from exc
    raise SignatureInvalid(f"the key set has no key {kid}")


def signer_for(settings: Settings) -> DocumentSigner | None:
    """The document signer ``settings`` ask for (None while ``ips.signing`` is off).

    A configured key file is loaded; without one, a generated key in the data directory is used
    only with the development issuer (the demo). Anything else is a ``ConfigurationError``, so
    the gateway refuses to start rather than sign with a key no one chose. Reads one small file:
    call it once, when the app is built.
    """
    ips = settings.ips
    if ips.signing == "off":
        return None
    if ips.signing_key_file is not None:
        try:
            return DocumentSigner.load(ips.signing_key_file, ips.signing_key_id)
        except (OSError, ValueError, TypeError) as exc:
            # Only the reason: never the file's content.
            raise ConfigurationError(
                f"ips.signing_key_file cannot be used: {type(exc).__name__}: {exc}"
            ) from exc
    if settings.auth.dev_issuer:
        return DocumentSigner.generate(settings.data_dir / DEV_KEY_FILE, ips.signing_key_id)
    raise ConfigurationError(
        "ips.signing is on but no key is configured: set GATEWAY_IPS__SIGNING_KEY_FILE to a PEM "
        "private key (EC P-256 or RSA); a generated key is used only with the development "
        "issuer (GATEWAY_AUTH__DEV_ISSUER=true)"
    )


def jwks_route(signer: DocumentSigner | None) -> Route:
    """``GET /fhir/.well-known/jwks.json``: the keys that verify signed documents; an empty set
    (200) while signing is off, so receivers can poll it either way."""
    body = orjson.dumps(signer.jwks() if signer is not None else {"keys": []})

    async def jwks(_request: Request) -> Response:
        return Response(
            body,
            media_type="application/json",
            headers={"Cache-Control": "public, max-age=300"},
        )

    return Route(JWKS_PATH, jwks, methods=["GET"], name="ips-jwks")
