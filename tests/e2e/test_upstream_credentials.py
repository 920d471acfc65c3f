"""The gateway against a prescriptions registry that requires credentials: a static bearer
token, or OAuth2 client credentials from a local token endpoint (``mocks/token_endpoint.py``:
private_key_jwt with RSA and EC keys, client_secret_basic, DPoP-bound tokens with nonces).
Tokens are cached until shortly before expiry, renewed after a 401, and a refusal is
SOURCE_AUTH_FAILED for the medications section only, with nothing read and no secret logged."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization

from gateway.errors import SourceAuthFailed
from gateway.settings import SourceSettings, UpstreamAuthSettings
from gateway.upstream.credentials import build_credentials
from gateway.upstream.fhir_write import FhirWriter
from mocks.faults import FaultInjector
from mocks.fixtures import FIXTURES, fixture
from mocks.population import Population
from mocks.runner import MockRegistries
from mocks.sources import FHIR_BASE_PATH, Source
from mocks.token_endpoint import TokenEndpoint, bearer_guard, guarded_registry
from tests.conftest import GatewayServer, serve, served
from tests.e2e.upstream_auth import (
    MEDICATIONS,
    codes,
    medications,
    new_key,
    prescriptions_at,
    write_key,
)

NIN = FIXTURES[0].nin
CLIENT_ID = "summary-gateway-test"


async def test_a_static_bearer_token_from_a_file(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    token_file = tmp_path / "registry-token"
    token_file.write_text("static-registry-token-1\n")
    guard = bearer_guard("static-registry-token-1")
    async with served(guarded_registry(Source.PRESCRIPTIONS, population, guard)) as url:
        settings = prescriptions_at(registries, url, {"kind": "bearer", "token_file": token_file})
        async with serve(settings) as gateway:
            body = await gateway.graphql(MEDICATIONS, {"nin": NIN})
        assert medications(body)["status"] == "COMPLETE", body
        assert medications(body)["prescriptions"]

        async with serve(prescriptions_at(registries, url)) as gateway:
            body = await gateway.graphql(MEDICATIONS, {"nin": NIN})
        assert codes(body) == {"SOURCE_AUTH_FAILED"}
        assert medications(body)["prescriptions"] is None


async def test_a_rotated_token_file_is_read_again_after_a_401(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    token_file = tmp_path / "registry-token"
    token_file.write_text("old-registry-token")
    guard = bearer_guard("new-registry-token")
    async with served(guarded_registry(Source.PRESCRIPTIONS, population, guard)) as url:
        settings = prescriptions_at(registries, url, {"kind": "bearer", "token_file": token_file})
        async with serve(settings) as gateway:
            token_file.write_text("new-registry-token")
            body = await gateway.graphql(MEDICATIONS, {"nin": NIN})
    assert medications(body)["status"] == "COMPLETE", body


async def test_a_static_bearer_token_from_the_environment(
    registries: MockRegistries, population: Population, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_REGISTRY_TOKEN", "static-registry-token-2")
    guard = bearer_guard("static-registry-token-2")
    async with served(guarded_registry(Source.PRESCRIPTIONS, population, guard)) as url:
        settings = prescriptions_at(
            registries, url, {"kind": "bearer", "token_env": "TEST_REGISTRY_TOKEN"}
        )
        async with serve(settings) as gateway:
            body = await gateway.graphql(MEDICATIONS, {"nin": NIN})
    assert medications(body)["status"] == "COMPLETE", body


@contextlib.asynccontextmanager
async def guarded(
    population: Population, endpoint: TokenEndpoint, source: Source = Source.PRESCRIPTIONS
) -> AsyncIterator[tuple[str, FaultInjector]]:
    """The token endpoint served (its ``token_url`` set) and a registry (prescriptions unless
    ``source`` says) that requires its tokens; yields its origin and its request counter."""
    injector = FaultInjector()
    app = guarded_registry(source, population, endpoint.guard(), injector)
    async with served(endpoint.app()) as issuer, served(app) as url:
        endpoint.token_url = f"{issuer}/token"
        yield url, injector


def client_credentials(endpoint: TokenEndpoint, **auth: Any) -> dict[str, Any]:
    """Client credentials settings for ``endpoint``."""
    return {
        "kind": "client_credentials",
        "token_url": endpoint.token_url,
        "client_id": CLIENT_ID,
        **auth,
    }


def public_pem(key: Any) -> bytes:
    """The PEM of ``key``'s public half."""
    pem: bytes = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


async def summaries(gateway: GatewayServer, count: int) -> list[dict[str, Any]]:
    """``count`` medications answers, one after the other."""
    return [await gateway.graphql(MEDICATIONS, {"nin": NIN}) for _ in range(count)]


@pytest.mark.parametrize(
    ("kind", "token_format"), [("rsa", "opaque"), ("ec", "jwt")], ids=["RS256", "ES256"]
)
async def test_private_key_jwt_tokens_are_cached_across_summaries(
    registries: MockRegistries,
    population: Population,
    tmp_path: Path,
    kind: str,
    token_format: Any,
) -> None:
    key = new_key(kind)
    endpoint = TokenEndpoint(CLIENT_ID, public_pem(key), token_format=token_format)
    async with guarded(population, endpoint) as (url, injector):
        auth = client_credentials(
            endpoint,
            private_key_file=write_key(key, tmp_path / "client.pem"),
            key_id="key-1",
            scope="nhn:prescriptions/read",
            audience="nhn:prescriptions",
        )
        async with serve(prescriptions_at(registries, url, auth)) as gateway:
            answers = await summaries(gateway, 3)
    for body in answers:
        assert medications(body)["status"] == "COMPLETE", body
        assert medications(body)["prescriptions"]
    assert injector.stats().total > 3, "every summary asked the registry (no answer cache)"
    assert endpoint.token_requests == 1, "one token for every request"
    assert endpoint.refused_requests == 0
    assert endpoint.forms[0] == {
        "grant_type": "client_credentials",
        "scope": "nhn:prescriptions/read",
        "resource": "nhn:prescriptions",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    }


async def test_concurrent_summaries_share_one_token_request(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    key = new_key("ec")
    endpoint = TokenEndpoint(CLIENT_ID, public_pem(key))
    async with guarded(population, endpoint) as (url, _injector):
        auth = client_credentials(endpoint, private_key_file=write_key(key, tmp_path / "k.pem"))
        async with serve(prescriptions_at(registries, url, auth)) as gateway:
            answers = await asyncio.gather(
                *(gateway.graphql(MEDICATIONS, {"nin": f.nin}) for f in FIXTURES[:6])
            )
    assert all(medications(body)["status"] == "COMPLETE" for body in answers), answers
    assert endpoint.token_requests == 1


async def test_a_client_secret_is_sent_as_client_secret_basic(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    endpoint = TokenEndpoint(CLIENT_ID, client_secret="s3cret:with/odd&chars")
    secret_file = tmp_path / "client-secret"
    secret_file.write_text("s3cret:with/odd&chars\n")
    async with guarded(population, endpoint) as (url, _injector):
        auth = client_credentials(endpoint, client_secret_file=secret_file)
        async with serve(prescriptions_at(registries, url, auth)) as gateway:
            body = await gateway.graphql(MEDICATIONS, {"nin": NIN})
    assert medications(body)["status"] == "COMPLETE", body
    assert "client_assertion" not in endpoint.forms[0]


async def test_a_token_is_renewed_shortly_before_it_expires(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    key = new_key("ec")
    # Renewed at half its life at the latest: after 1 s of these 2.
    endpoint = TokenEndpoint(CLIENT_ID, public_pem(key), lifetime_s=2)
    async with guarded(population, endpoint) as (url, _injector):
        auth = client_credentials(endpoint, private_key_file=write_key(key, tmp_path / "k.pem"))
        async with serve(prescriptions_at(registries, url, auth)) as gateway:
            first = await summaries(gateway, 2)
            assert endpoint.token_requests == 1
            await asyncio.sleep(1.1)
            later = await summaries(gateway, 2)
    assert all(medications(body)["status"] == "COMPLETE" for body in first + later)
    assert endpoint.token_requests == 2
    assert endpoint.refused_requests == 0, "the old token was not used past its renewal"


async def test_a_revoked_token_is_renewed_after_the_registrys_401(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    key = new_key("rsa")
    endpoint = TokenEndpoint(CLIENT_ID, public_pem(key))
    async with guarded(population, endpoint) as (url, _injector):
        auth = client_credentials(endpoint, private_key_file=write_key(key, tmp_path / "k.pem"))
        async with serve(prescriptions_at(registries, url, auth)) as gateway:
            await gateway.graphql(MEDICATIONS, {"nin": NIN})
            endpoint.revoke_all()
            body = await gateway.graphql(MEDICATIONS, {"nin": NIN})
    assert medications(body)["status"] == "COMPLETE", body
    assert endpoint.token_requests == 2
    assert endpoint.refused_requests >= 1


async def test_dpop_bound_tokens_with_server_nonces(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    key = new_key("ec")
    endpoint = TokenEndpoint(
        CLIENT_ID, public_pem(key), require_dpop=True, require_nonce=True, token_format="jwt"
    )
    async with guarded(population, endpoint) as (url, _injector):
        auth = client_credentials(
            endpoint, private_key_file=write_key(key, tmp_path / "k.pem"), dpop=True
        )
        async with serve(prescriptions_at(registries, url, auth)) as gateway:
            first = await gateway.graphql(MEDICATIONS, {"nin": NIN})
            refused_first = endpoint.refused_requests
            later = await summaries(gateway, 2)
    assert medications(first)["status"] == "COMPLETE", first
    assert all(medications(body)["status"] == "COMPLETE" for body in later), later
    # The token endpoint's use_dpop_nonce, then the token.
    assert endpoint.token_requests == 2
    assert all(issued.jkt for issued in endpoint.issued.values()), "every token is DPoP-bound"
    assert refused_first >= 1, "the registry asked for its nonce"
    assert endpoint.refused_requests == refused_first, "then every proof carried it"


async def test_dpop_is_required_to_use_a_dpop_bound_token(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    """The mock's guard refuses a DPoP-bound token sent as a plain bearer token: what keeps a
    stolen token useless. The gateway asked without DPoP gets a Bearer token, which is fine."""
    key = new_key("ec")
    endpoint = TokenEndpoint(CLIENT_ID, public_pem(key), require_dpop=True)
    async with guarded(population, endpoint) as (url, _injector):
        auth = client_credentials(endpoint, private_key_file=write_key(key, tmp_path / "k.pem"))
        async with serve(prescriptions_at(registries, url, auth)) as gateway:
            body = await gateway.graphql(MEDICATIONS, {"nin": NIN})
    assert codes(body) == {"SOURCE_AUTH_FAILED"}
    assert endpoint.forms, "the token endpoint was asked (and refused a request without DPoP)"


async def test_a_wrong_key_fails_the_section_with_source_auth_failed(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    registered, used = new_key("rsa"), new_key("rsa")
    endpoint = TokenEndpoint(CLIENT_ID, public_pem(registered))
    async with guarded(population, endpoint) as (url, injector):
        auth = client_credentials(endpoint, private_key_file=write_key(used, tmp_path / "k.pem"))
        async with serve(prescriptions_at(registries, url, auth)) as gateway:
            body = await gateway.graphql(MEDICATIONS, {"nin": NIN})
    assert codes(body) == {"SOURCE_AUTH_FAILED"}
    assert {e["extensions"]["source"] for e in body["errors"]} == {"prescriptions"}
    section = medications(body)
    assert section["prescriptions"] is None
    assert {s["errorCode"] for s in section["searches"]} == {"SOURCE_AUTH_FAILED"}
    assert injector.stats().total == 0, "the registry was never asked"
    assert endpoint.issued == {}


async def test_an_unreachable_token_endpoint_is_source_auth_failed(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    key = new_key("ec")
    endpoint = TokenEndpoint(CLIENT_ID, public_pem(key))
    async with guarded(population, endpoint) as (url, _injector):
        auth = client_credentials(endpoint, private_key_file=write_key(key, tmp_path / "k.pem"))
        async with served(endpoint.app()) as gone:
            auth["token_url"] = f"{gone}/token"
        async with serve(prescriptions_at(registries, url, auth)) as gateway:
            body = await gateway.graphql(MEDICATIONS, {"nin": NIN})
    assert codes(body) == {"SOURCE_AUTH_FAILED"}


async def test_no_secret_reaches_the_logs(
    registries: MockRegistries, population: Population, tmp_path: Path, json_log: io.StringIO
) -> None:
    key, wrong = new_key("rsa"), new_key("rsa")
    endpoint = TokenEndpoint(CLIENT_ID, public_pem(key), require_dpop=True, require_nonce=True)
    secret_file = tmp_path / "client-secret"
    secret_file.write_text("never-logged-client-secret")
    token_file = tmp_path / "token"
    token_file.write_text("never-logged-static-token")
    async with guarded(population, endpoint) as (url, _injector):
        variants = [
            client_credentials(
                endpoint, private_key_file=write_key(key, tmp_path / "k.pem"), dpop=True
            ),
            client_credentials(
                endpoint, private_key_file=write_key(wrong, tmp_path / "w.pem"), dpop=True
            ),
            client_credentials(endpoint, client_secret_file=secret_file),
            {"kind": "bearer", "token_file": token_file},
        ]
        for auth in variants:
            settings = prescriptions_at(registries, url, auth)
            assert "never-logged" not in repr(settings)
            async with serve(settings) as gateway:
                await summaries(gateway, 2)
    logged = json_log.getvalue()
    assert "SOURCE_AUTH_FAILED" in logged
    assert endpoint.issued, "tokens were issued"
    for secret in [*endpoint.issued, "never-logged", "PRIVATE KEY", "eyJ"]:
        assert secret not in logged


async def test_writes_carry_the_token_and_renew_it_after_a_401(
    population: Population, tmp_path: Path
) -> None:
    """The core record's writer (reads by id with their version, creates, updates) sends the
    same credentials; a 401 renews the token and the request is sent once more."""
    record = population.record(fixture("critical-allergies").nin)
    assert record is not None
    allergy = record.of_type("AllergyIntolerance")[0]["id"]
    key, wrong = new_key("ec"), new_key("ec")
    endpoint = TokenEndpoint(CLIENT_ID, public_pem(key), require_dpop=True)
    async with (
        guarded(population, endpoint, Source.CORE_RECORD) as (url, injector),
        aiohttp.ClientSession() as session,
    ):

        def writer(key_file: Path) -> FhirWriter:
            auth = UpstreamAuthSettings(
                **client_credentials(endpoint, private_key_file=key_file, dpop=True)
            )
            source = SourceSettings(base_url=f"{url}{FHIR_BASE_PATH}", auth=auth)
            return FhirWriter(
                "core_record", source, session, build_credentials("core_record", source, session)
            )

        good = writer(write_key(key, tmp_path / "k.pem"))
        assert (await good.read("AllergyIntolerance", allergy)).resource["id"] == allergy
        endpoint.revoke_all()
        assert (await good.read("AllergyIntolerance", allergy)).version
        assert endpoint.token_requests == 2
        assert endpoint.refused_requests == 1

        asked = injector.stats().total
        with pytest.raises(SourceAuthFailed):
            await writer(write_key(wrong, tmp_path / "w.pem")).read("AllergyIntolerance", allergy)
        assert injector.stats().total == asked
