"""Signed summary documents: signing, verifying, the signer the settings choose, the JWKS route
and ``summary-gateway verify-document``."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from gateway.app import create_app
from gateway.errors import ConfigurationError
from gateway.ips.signing import (
    DEV_KEY_FILE,
    JWKS_PATH,
    DocumentSigner,
    SignatureInvalid,
    canonical_bytes,
    signer_for,
    verify_document,
)
from gateway.settings import AuthSettings, IpsSettings, IssuerSettings, Settings
from mocks.runner import MockRegistries
from tests.conftest import serve, served, settings_for
from tests.process_support import run_cli

DEVICE = {"reference": "urn:uuid:4c7f3c52-0d7a-4a4e-9d0e-6b1f2c3d4e5f", "display": "gateway"}
SIGNED_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _document() -> dict[str, Any]:
    """A small IPS-shaped document Bundle (synthetic data): Composition, Patient, Observation."""
    patient = "urn:uuid:0b1d5d0e-7a55-4c43-9d4b-1f6a2f0c8e11"
    return {
        "resourceType": "Bundle",
        "id": "ips-1",
        "meta": {"lastUpdated": "2026-03-01T09:29:00Z"},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:9e0c"},
        "type": "document",
        "timestamp": "2026-03-01T09:29:00Z",
        "entry": [
            {
                "fullUrl": "urn:uuid:1f2e3d4c-0000-4000-8000-000000000001",
                "resource": {
                    "resourceType": "Composition",
                    "status": "final",
                    "type": {"coding": [{"system": "http://loinc.org", "code": "60591-5"}]},
                    "subject": {"reference": patient},
                    "date": "2026-03-01T09:29:00Z",
                    "title": "Pasientsammendrag",
                    "section": [
                        {
                            "title": "Resultater",
                            "code": {"coding": [{"system": "http://loinc.org", "code": "30954-2"}]},
                            "entry": [{"reference": "urn:uuid:1f2e3d4c-0000-4000-8000-0000000003"}],
                        }
                    ],
                },
            },
            {
                "fullUrl": patient,
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": "Testesen", "given": ["Syntetisk"]}],
                    "birthDate": "1950-01-01",
                },
            },
            {
                "fullUrl": "urn:uuid:1f2e3d4c-0000-4000-8000-0000000003",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "display": "Hemoglobin"}]},
                    "valueQuantity": {"value": 13.5, "unit": "g/dL"},
                },
            },
        ],
    }


def _ec_key_file(path: Path) -> Path:
    return _write_key(path, ec.generate_private_key(ec.SECP256R1()))


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture
def signer(tmp_path: Path) -> DocumentSigner:
    """An ES256 signer over a fresh P-256 key file."""
    return DocumentSigner.load(_ec_key_file(tmp_path / "key.pem"))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jws_of(document: dict[str, Any]) -> str:
    return base64.b64decode(document["signature"]["data"]).decode()


def test_a_signed_document_verifies_and_says_who_signed_it_when(signer: DocumentSigner) -> None:
    document = _document()
    signed = signer.sign(document, who=DEVICE, at=SIGNED_AT)

    check = verify_document(signed, signer.jwks())

    assert (check.kid, check.alg, check.when) == (signer.kid, "ES256", "2026-03-01T09:30:00Z")
    assert "signature" not in document, "sign returns a new dict"
    signature = signed["signature"]
    assert signature["type"] == [
        {
            "system": "urn:iso-astm:E1762-95:2013",
            "code": "1.2.840.10065.1.12.1.5",
            "display": "Verification Signature",
        }
    ]
    assert signature["who"] == DEVICE
    assert signature["sigFormat"] == "application/jose"
    assert signature["targetFormat"] == (
        "application/fhir+json;canonicalization=http://hl7.org/fhir/canonicalization/json#document"
    )
    header, payload, _sig = _jws_of(signed).split(".")
    assert payload == "", "the payload is detached"
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {
        "alg": "ES256",
        "kid": signer.kid,
        "sigT": "2026-03-01T09:30:00Z",
    }


def test_canonical_bytes_leave_out_id_meta_and_signature_and_sort_without_whitespace() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "document",
        "id": "x",
        "meta": {"versionId": "1"},
        "signature": {"data": "AAAA"},
        "entry": [{"resource": {"resourceType": "Patient", "active": True, "id": "p"}}],
    }
    assert canonical_bytes(bundle) == (
        b'{"entry":[{"resource":{"active":true,"id":"p","resourceType":"Patient"}}],'
        b'"resourceType":"Bundle","type":"document"}'
    )


def test_the_detached_jws_verifies_with_a_plain_jose_library(signer: DocumentSigner) -> None:
    # The recipe in the module docstring, with PyJWT as "any JOSE library".
    from jwt import PyJWK
    from jwt.api_jws import PyJWS

    signed = signer.sign(_document(), who=DEVICE)
    header, _empty, signature = _jws_of(signed).split(".")
    attached = f"{header}.{_b64url(canonical_bytes(signed))}.{signature}"
    key = PyJWK(signer.jwks()["keys"][0])
    assert PyJWS().decode(attached, key, algorithms=["ES256"]) == canonical_bytes(signed)


def test_an_rsa_key_signs_with_rs256(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = DocumentSigner.load(_write_key(tmp_path / "rsa.pem", key))
    signed = signer.sign(_document(), who=DEVICE)
    check = verify_document(signed, signer.jwks())
    assert check.alg == "RS256"
    assert signer.jwks()["keys"][0]["kty"] == "RSA"


def test_a_copy_stored_under_another_id_and_meta_still_verifies(signer: DocumentSigner) -> None:
    # json#document: a server that stores the document gives it its own id and meta.
    signed = signer.sign(_document(), who=DEVICE)
    stored = {**signed, "id": "elsewhere-7", "meta": {"versionId": "3", "source": "#other"}}
    assert verify_document(stored, signer.jwks()).kid == signer.kid


def _change_display(document: dict[str, Any]) -> None:
    coding = document["entry"][2]["resource"]["code"]["coding"][0]
    coding["display"] = "Hemoglobio"


def _change_number(document: dict[str, Any]) -> None:
    document["entry"][2]["resource"]["valueQuantity"]["value"] = 13.6


def _change_name(document: dict[str, Any]) -> None:
    document["entry"][1]["resource"]["name"][0]["family"] = "Testeson"


def _add_element(document: dict[str, Any]) -> None:
    document["entry"][1]["resource"]["gender"] = "unknown"


def _drop_entry(document: dict[str, Any]) -> None:
    del document["entry"][2]


def _change_timestamp(document: dict[str, Any]) -> None:
    document["timestamp"] = "2026-03-01T09:29:01Z"


@pytest.mark.parametrize(
    "tamper",
    [
        _change_display,
        _change_number,
        _change_name,
        _add_element,
        _drop_entry,
        _change_timestamp,
    ],
)
def test_any_change_to_the_signed_content_is_invalid(
    signer: DocumentSigner, tamper: Callable[[dict[str, Any]], None]
) -> None:
    signed = signer.sign(_document(), who=DEVICE)
    tampered = copy.deepcopy(signed)
    tamper(tampered)
    with pytest.raises(SignatureInvalid, match="does not match the document"):
        verify_document(tampered, signer.jwks())


def test_a_changed_signing_time_is_invalid(signer: DocumentSigner) -> None:
    # Signature.when is bound to the JWS's signed "sigT" header.
    signed = signer.sign(_document(), who=DEVICE, at=SIGNED_AT)
    signed["signature"]["when"] = "2026-03-02T09:30:00Z"
    with pytest.raises(SignatureInvalid, match="sigT"):
        verify_document(signed, signer.jwks())


def test_a_changed_who_still_verifies_because_the_key_says_who_signed(
    signer: DocumentSigner,
) -> None:
    # Documented: Signature.who is a label, not signed; the kid (a key the receiver trusts) is
    # the proof of origin.
    signed = signer.sign(_document(), who=DEVICE)
    signed["signature"]["who"] = {"reference": "urn:uuid:someone-else"}
    assert verify_document(signed, signer.jwks()).kid == signer.kid


def test_a_document_without_signature_is_invalid(signer: DocumentSigner) -> None:
    signed = signer.sign(_document(), who=DEVICE)
    del signed["signature"]
    with pytest.raises(SignatureInvalid, match="no signature"):
        verify_document(signed, signer.jwks())


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("sigFormat", "application/pkcs7-signature", "sigFormat"),
        ("targetFormat", "application/fhir+json", "canonicalization"),
        ("data", "not base64!", "not base64"),
        ("data", base64.b64encode(b"only.two").decode(), "compact JWS"),
    ],
)
def test_a_malformed_signature_is_invalid(
    signer: DocumentSigner, field: str, value: str, reason: str
) -> None:
    signed = signer.sign(_document(), who=DEVICE)
    signed["signature"][field] = value
    with pytest.raises(SignatureInvalid, match=reason):
        verify_document(signed, signer.jwks())


def test_a_key_set_without_the_signing_kid_is_invalid(
    signer: DocumentSigner, tmp_path: Path
) -> None:
    other = DocumentSigner.load(_ec_key_file(tmp_path / "other.pem"))
    signed = signer.sign(_document(), who=DEVICE)
    with pytest.raises(SignatureInvalid, match=f"no key {signer.kid}"):
        verify_document(signed, other.jwks())


def test_another_key_published_under_the_same_kid_is_invalid(
    signer: DocumentSigner, tmp_path: Path
) -> None:
    impostor = DocumentSigner.load(_ec_key_file(tmp_path / "impostor.pem"), kid=signer.kid)
    signed = signer.sign(_document(), who=DEVICE)
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify_document(signed, impostor.jwks())


def _forged(document: dict[str, Any], header: dict[str, Any], secret: bytes) -> dict[str, Any]:
    encoded_header = _b64url(json.dumps(header).encode())
    signing_input = f"{encoded_header}.{_b64url(canonical_bytes(document))}".encode()
    mac = _b64url(hmac.new(secret, signing_input, hashlib.sha256).digest())
    forged = copy.deepcopy(document)
    forged["signature"]["data"] = base64.b64encode(f"{encoded_header}..{mac}".encode()).decode()
    return forged


def test_an_hs256_signature_made_with_the_public_key_as_secret_is_invalid(
    signer: DocumentSigner,
) -> None:
    # The classic algorithm confusion: the public key is public, so an HMAC with it proves nothing.
    signed = signer.sign(_document(), who=DEVICE, at=SIGNED_AT)
    signed["entry"][1]["resource"]["name"][0]["family"] = "Forged"
    jwk = signer.jwks()["keys"][0]
    header = {"alg": "HS256", "kid": signer.kid, "sigT": signed["signature"]["when"]}
    for secret in (json.dumps(jwk).encode(), jwk["x"].encode()):
        with pytest.raises(SignatureInvalid, match="'HS256' is not allowed"):
            verify_document(_forged(signed, header, secret), signer.jwks())


def test_an_unsigned_alg_none_jws_is_invalid(signer: DocumentSigner) -> None:
    signed = signer.sign(_document(), who=DEVICE)
    header = _b64url(json.dumps({"alg": "none", "kid": signer.kid}).encode())
    signed["signature"]["data"] = base64.b64encode(f"{header}..".encode()).decode()
    with pytest.raises(SignatureInvalid):
        verify_document(signed, signer.jwks())


def test_the_kid_defaults_to_the_rfc_7638_thumbprint_and_can_be_set(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path = _write_key(tmp_path / "key.pem", key)
    numbers = key.public_key().public_numbers()
    members = (
        f'{{"crv":"P-256","kty":"EC","x":"{_b64url(numbers.x.to_bytes(32, "big"))}",'
        f'"y":"{_b64url(numbers.y.to_bytes(32, "big"))}"}}'
    )
    assert DocumentSigner.load(path).kid == _b64url(hashlib.sha256(members.encode()).digest())
    named = DocumentSigner.load(path, kid="gateway-2026")
    assert named.kid == "gateway-2026"
    assert named.jwks()["keys"][0] | {"x": "", "y": ""} == {
        "kty": "EC",
        "crv": "P-256",
        "x": "",
        "y": "",
        "kid": "gateway-2026",
        "use": "sig",
        "alg": "ES256",
    }


def test_keys_too_weak_to_sign_are_refused(tmp_path: Path) -> None:
    p384 = _write_key(tmp_path / "p384.pem", ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(ValueError, match="P-256"):
        DocumentSigner.load(p384)
    small_rsa = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="2048"):
        DocumentSigner.load(_write_key(tmp_path / "rsa1024.pem", small_rsa))


def _settings(tmp_path: Path, dev_issuer: bool, **ips: Any) -> Settings:
    issuers = () if dev_issuer else (IssuerSettings(issuer="i", jwks_url="file:x", audience="a"),)
    return Settings(
        data_dir=tmp_path,
        auth=AuthSettings(dev_issuer=dev_issuer, issuers=issuers),
        ips=IpsSettings(**ips),
    )


def test_signer_for_is_none_while_signing_is_off(tmp_path: Path) -> None:
    assert signer_for(_settings(tmp_path, dev_issuer=True)) is None
    assert not (tmp_path / DEV_KEY_FILE).exists()


def test_signer_for_refuses_signing_without_a_key_outside_the_demo(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="GATEWAY_IPS__SIGNING_KEY_FILE"):
        signer_for(_settings(tmp_path, dev_issuer=False, signing="on"))
    assert not (tmp_path / DEV_KEY_FILE).exists(), "no key is generated outside the demo"


def test_signer_for_generates_a_private_development_key_once(tmp_path: Path) -> None:
    settings = _settings(tmp_path, dev_issuer=True, signing="on")
    first = signer_for(settings)
    key_file = tmp_path / DEV_KEY_FILE
    assert first is not None
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = signer_for(settings)
    assert second is not None and second.kid == first.kid, "the same key the next time"


def test_signer_for_loads_the_configured_key_file_and_kid(tmp_path: Path) -> None:
    path = _ec_key_file(tmp_path / "prod.pem")
    settings = _settings(
        tmp_path, dev_issuer=False, signing="on", signing_key_file=path, signing_key_id="k1"
    )
    signer = signer_for(settings)
    assert signer is not None and signer.kid == "k1"
    verify_document(signer.sign(_document(), who=DEVICE), DocumentSigner.load(path, "k1").jwks())


@pytest.mark.parametrize("content", [None, b"not a key"])
def test_signer_for_refuses_a_key_file_it_cannot_use(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "key.pem"
    if content is not None:
        path.write_bytes(content)
    settings = _settings(tmp_path, dev_issuer=False, signing="on", signing_key_file=path)
    with pytest.raises(ConfigurationError, match=r"ips\.signing_key_file cannot be used"):
        signer_for(settings)


def test_the_environment_names_the_signing_settings(tmp_path: Path) -> None:
    env_file = tmp_path / "gateway.env"
    env_file.write_text(
        "GATEWAY_IPS__SIGNING=on\n"
        f"GATEWAY_IPS__SIGNING_KEY_FILE={tmp_path / 'key.pem'}\n"
        "GATEWAY_IPS__SIGNING_KEY_ID=gateway-2026\n"
    )
    settings = Settings(_env_file=env_file)
    assert settings.ips == IpsSettings(
        signing="on", signing_key_file=tmp_path / "key.pem", signing_key_id="gateway-2026"
    )


def test_the_production_profile_needs_a_key_file_to_sign(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"ips\.signing_key_file"):
        Settings(profile="production", ips=IpsSettings(signing="on"))
    path = _ec_key_file(tmp_path / "key.pem")
    production = Settings(
        profile="production", ips=IpsSettings(signing="on", signing_key_file=path)
    )
    assert production.ips.signing_key_file == path


async def test_the_gateway_publishes_the_key_that_verifies_its_documents(
    registries: MockRegistries, tmp_path: Path
) -> None:
    base = settings_for(registries, data_dir=tmp_path)
    settings = base.model_copy(update={"ips": IpsSettings(signing="on")})
    async with serve(settings) as gateway, gateway.anonymous.get(gateway.url + JWKS_PATH) as got:
        assert got.status == 200
        assert got.content_type == "application/json"
        jwks = await got.json()
    signer = signer_for(settings)  # the development key the gateway generated and uses
    assert signer is not None and [key["kid"] for key in jwks["keys"]] == [signer.kid]
    assert verify_document(signer.sign(_document(), who=DEVICE), jwks).kid == signer.kid


async def test_the_key_set_is_empty_while_signing_is_off(registries: MockRegistries) -> None:
    async with (
        serve(settings_for(registries)) as gateway,
        gateway.anonymous.get(gateway.url + JWKS_PATH) as got,
    ):
        assert got.status == 200
        assert await got.json() == {"keys": []}


def test_the_app_refuses_to_start_signing_without_a_key(
    registries: MockRegistries, tmp_path: Path
) -> None:
    base = settings_for(registries, data_dir=tmp_path)
    settings = Settings(
        sources=base.sources,
        data_dir=tmp_path,
        auth=AuthSettings(issuers=(IssuerSettings(issuer="i", jwks_url="file:x", audience="a"),)),
        ips=IpsSettings(signing="on"),
    )
    with pytest.raises(ConfigurationError, match="GATEWAY_IPS__SIGNING_KEY_FILE"):
        create_app(settings)


async def _verify_command(*args: str) -> tuple[int, str, str]:
    ran = await run_cli("verify-document", *args)
    return ran.returncode, ran.out, ran.err


async def test_verify_document_command_tells_valid_from_tampered(
    signer: DocumentSigner, tmp_path: Path
) -> None:
    signed = signer.sign(_document(), who=DEVICE, at=SIGNED_AT)
    good = tmp_path / "summary.json"
    good.write_text(json.dumps(signed, indent=2))
    tampered = copy.deepcopy(signed)
    _change_number(tampered)
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered))
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(signer.jwks()))

    assert await _verify_command(str(good), "--jwks", str(jwks_file)) == (
        0,
        f"valid: signed by kid {signer.kid} (ES256) at 2026-03-01T09:30:00Z\n",
        "",
    )
    code, out, _err = await _verify_command(str(bad), "--jwks", str(jwks_file))
    assert code == 1
    assert out.startswith("INVALID: the signature does not match the document")


async def test_verify_document_command_fetches_the_key_set_from_a_url(
    signer: DocumentSigner, tmp_path: Path
) -> None:
    document = tmp_path / "summary.json"
    document.write_text(json.dumps(signer.sign(_document(), who=DEVICE)))

    async def jwks(_request: web.Request) -> web.Response:
        return web.json_response(signer.jwks())

    app = web.Application()
    app.router.add_get(JWKS_PATH, jwks)
    async with served(app) as url:
        code, out, _err = await _verify_command(str(document), "--jwks", url + JWKS_PATH)
    assert code == 0
    assert out.startswith(f"valid: signed by kid {signer.kid} (ES256) at ")


async def test_verify_document_command_says_when_a_file_is_not_json(
    signer: DocumentSigner, tmp_path: Path
) -> None:
    document = tmp_path / "summary.json"
    document.write_text("<Bundle xmlns='http://hl7.org/fhir'/>")
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(signer.jwks()))
    code, out, err = await _verify_command(str(document), "--jwks", str(jwks_file))
    assert (code, out) == (2, "")
    assert f"{document} is not JSON" in err
