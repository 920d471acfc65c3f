"""Upstream credential settings and their loading: what is refused at start, what is read from
the environment, and that no secret shows in a repr or an error message."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from gateway.errors import ConfigurationError
from gateway.settings import Settings, SourceSettings, UpstreamAuthSettings, UpstreamTlsSettings
from gateway.upstream.credentials import (
    ClientCredentials,
    Credentials,
    StaticBearer,
    access_token_hash,
    build_credentials,
    dpop_htu,
    jwk_thumbprint,
)

BASE = "https://fhir.example.no/fhir"


def test_each_kind_needs_what_it_uses() -> None:
    with pytest.raises(ValidationError, match="exactly one of token_file and token_env"):
        UpstreamAuthSettings(kind="bearer")
    with pytest.raises(ValidationError, match="exactly one of token_file and token_env"):
        UpstreamAuthSettings(kind="bearer", token_file=Path("a"), token_env="B")
    with pytest.raises(ValidationError, match="needs token_url and client_id"):
        UpstreamAuthSettings(kind="client_credentials", private_key_file=Path("k"))
    with pytest.raises(ValidationError, match="exactly one of private_key_file"):
        UpstreamAuthSettings(kind="client_credentials", token_url=BASE, client_id="c")
    with pytest.raises(ValidationError, match="both client_cert_file and client_key_file"):
        UpstreamTlsSettings(client_cert_file=Path("c"))
    assert UpstreamAuthSettings().kind == "none"


def test_credentials_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = "GATEWAY_SOURCES__PRESCRIPTIONS__"
    monkeypatch.setenv(f"{prefix}BASE_URL", BASE)
    monkeypatch.setenv(f"{prefix}AUTH__KIND", "client_credentials")
    monkeypatch.setenv(f"{prefix}AUTH__TOKEN_URL", "https://helseid-sts.nhn.no/connect/token")
    monkeypatch.setenv(f"{prefix}AUTH__CLIENT_ID", "my-client")
    monkeypatch.setenv(f"{prefix}AUTH__PRIVATE_KEY_FILE", "/run/secrets/helseid.pem")
    monkeypatch.setenv(f"{prefix}AUTH__DPOP", "true")
    monkeypatch.setenv(f"{prefix}TLS__CA_FILE", "/etc/ssl/nhn-ca.pem")
    source = Settings().sources.prescriptions
    assert source.auth.kind == "client_credentials"
    assert source.auth.client_id == "my-client"
    assert source.auth.private_key_file == Path("/run/secrets/helseid.pem")
    assert source.auth.dpop is True
    assert source.tls.ca_file == Path("/etc/ssl/nhn-ca.pem")
    assert Settings().sources.gp_registry.auth.kind == "none"


async def test_a_missing_or_unusable_file_is_refused_at_start(tmp_path: Path) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    wrong_curve = tmp_path / "p384.pem"
    wrong_curve.write_bytes(
        p384.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("top-secret-words")
    async with aiohttp.ClientSession() as session:
        for key_file, said in [
            (tmp_path / "absent.pem", "not a readable"),
            (not_a_key, "not a readable"),
            (wrong_curve, "RSA or a P-256"),
        ]:
            auth = UpstreamAuthSettings(
                kind="client_credentials", token_url=BASE, client_id="c", private_key_file=key_file
            )
            with pytest.raises(ConfigurationError, match=said) as refused:
                build_credentials(
                    "prescriptions", SourceSettings(base_url=BASE, auth=auth), session
                )
            assert "top-secret" not in str(refused.value)
        tls = UpstreamTlsSettings(client_cert_file=not_a_key, client_key_file=not_a_key)
        with pytest.raises(ConfigurationError, match="client_cert_file"):
            build_credentials("prescriptions", SourceSettings(base_url=BASE, tls=tls), session)
        empty = UpstreamAuthSettings(kind="bearer", token_env="SURELY_UNSET_TOKEN_VARIABLE")
        with pytest.raises(ConfigurationError, match="unset or empty"):
            build_credentials("prescriptions", SourceSettings(base_url=BASE, auth=empty), session)


async def test_no_secret_in_a_repr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_TOKEN", "secret-bearer-value")
    secret_file = tmp_path / "secret"
    secret_file.write_text("secret-client-value")
    async with aiohttp.ClientSession() as session:
        bearer = build_credentials(
            "prescriptions",
            SourceSettings(
                base_url=BASE, auth=UpstreamAuthSettings(kind="bearer", token_env="REGISTRY_TOKEN")
            ),
            session,
        )
        assert isinstance(bearer, StaticBearer)
        sent = await bearer.authorize("GET", BASE)
        assert sent.headers["Authorization"] == "Bearer secret-bearer-value"
        client = build_credentials(
            "prescriptions",
            SourceSettings(
                base_url=BASE,
                auth=UpstreamAuthSettings(
                    kind="client_credentials",
                    token_url=BASE,
                    client_id="c",
                    client_secret_file=secret_file,
                ),
            ),
            session,
        )
        assert isinstance(client, ClientCredentials)
        for shown in (repr(bearer), repr(sent), repr(client), repr(vars(client))):
            assert "secret-bearer-value" not in shown
            assert "secret-client-value" not in shown
        none = build_credentials("prescriptions", SourceSettings(base_url=BASE), session)
        assert type(none) is Credentials
        assert none.ssl is True
        assert (await none.authorize("GET", BASE)).headers == {}


def test_dpop_helpers_follow_the_rfcs() -> None:
    assert dpop_htu(f"{BASE}/Patient?identifier=x#y") == f"{BASE}/Patient"
    # RFC 7638 §3.1's example key and thumbprint.
    rsa_jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
        "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0"
        "_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhA"
        "I4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(rsa_jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    # RFC 9449 §7.1's example access token and its ath.
    assert (
        access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU")
        == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    )
