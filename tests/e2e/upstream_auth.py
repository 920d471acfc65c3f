"""What the upstream credential tests share: keys on disk, a guarded prescriptions registry, and
gateway settings that point prescriptions at it (the other sources at the shared mocks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.settings import Settings, UpstreamAuthSettings, UpstreamTlsSettings
from mocks.runner import MockRegistries
from mocks.sources import FHIR_BASE_PATH
from tests.conftest import settings_for

MEDICATIONS = (
    "query($nin: NationalIdentityNumber!) { patient(nin: $nin) { "
    "medications { status searches { status errorCode } prescriptions { id } } } }"
)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def new_key(kind: str) -> PrivateKey:
    """A fresh RSA-2048 (``rsa``) or P-256 (``ec``) key."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def write_key(key: PrivateKey, path: Path) -> Path:
    """``key`` as an unencrypted PKCS#8 PEM file at ``path``."""
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def prescriptions_at(
    registries: MockRegistries,
    url: str,
    auth: dict[str, Any] | None = None,
    tls: dict[str, Any] | None = None,
    **options: Any,
) -> Settings:
    """Settings whose prescriptions registry is the one served at ``url`` (an origin), with
    ``auth`` and ``tls``. Patients are bound as by default (from the CapabilityStatement, then
    ``Patient?identifier=``): those reads carry the credentials too."""
    base = settings_for(registries)
    prescriptions = base.sources.prescriptions.model_copy(
        update={
            "base_url": f"{url}{FHIR_BASE_PATH}",
            "auth": UpstreamAuthSettings(**(auth or {})),
            "tls": UpstreamTlsSettings(**(tls or {})),
            **options,
        }
    )
    return base.model_copy(
        update={"sources": base.sources.model_copy(update={"prescriptions": prescriptions})}
    )


def medications(body: dict[str, Any]) -> dict[str, Any]:
    """The medications section of a ``MEDICATIONS`` answer."""
    section: dict[str, Any] = body["data"]["patient"]["medications"]
    return section


def codes(body: dict[str, Any]) -> set[str]:
    """The error codes of an answer."""
    return {error["extensions"]["code"] for error in body.get("errors") or []}
