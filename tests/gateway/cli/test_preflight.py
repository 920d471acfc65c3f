"""``summary-gateway serve`` refuses a configuration it cannot serve safely with one clear line
on stderr and exit status 1, before it listens."""

from __future__ import annotations

import base64
import json
import os
import socket
from pathlib import Path

import pytest

from mocks.runner import MockRegistries
from resolvers.examples import SUMMARY_QUERY_FILE
from tests.conftest import settings_for
from tests.process_support import gateway_env, run_cli


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens once the socket is closed


async def _serve(env: dict[str, str], *args: str) -> tuple[int, list[str]]:
    # A gateway that starts instead of refusing runs until run_cli's timeout fails the test.
    ran = await run_cli("serve", "--port", "0", *args, env=env)
    return ran.returncode, ran.err.splitlines()


def _bare_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return {**env, **settings}


PRODUCTION_ISSUER = json.dumps(
    [
        {
            "issuer": "https://helseid-sts.nhn.no",
            "jwks_url": "https://helseid-sts.nhn.no/.well-known/openid-configuration/jwks",
            "audience": "summary-gateway",
        }
    ]
)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"GATEWAY_PROFILE": "production", "GATEWAY_AUTH__DEV_ISSUER": "true"},
            "auth.dev_issuer is refused in the production profile",
        ),
        (
            {
                "GATEWAY_AUTH__DEV_ISSUER": "true",
                "GATEWAY_CACHE__REDIS_URL": "redis://127.0.0.1:6379/0",
            },
            "cache.redis_url needs cache.encryption_key",
        ),
        (
            {
                "GATEWAY_AUTH__DEV_ISSUER": "true",
                "GATEWAY_CACHE__ENCRYPTION_KEY": base64.b64encode(b"short").decode(),
            },
            "encryption_key must be base64 of 32 bytes",
        ),
        (
            {"GATEWAY_PROFILE": "production", "GATEWAY_AUTH__ISSUERS": PRODUCTION_ISSUER},
            "the production profile starts no mock registries",
        ),
    ],
    ids=["production-with-dev-issuer", "redis-without-key", "bad-key", "production-mocks"],
)
async def test_serve_refuses_an_unsafe_configuration_in_one_line(
    env: dict[str, str], expected: str
) -> None:
    status, lines = await _serve(_bare_env(**env))
    assert status == 1
    assert len(lines) == 1, lines
    assert expected in lines[0]
    assert lines[0].startswith("summary-gateway: ")


async def test_serve_refuses_an_unreachable_access_log_database_in_one_line(
    registries: MockRegistries,
) -> None:
    dsn = f"postgresql://postgres:secret-password@127.0.0.1:{_closed_port()}/test"
    env = gateway_env(settings_for(registries), GATEWAY_AUDIT__POSTGRES_DSN=dsn)
    status, lines = await _serve(env)
    assert status == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith("summary-gateway: the access log (PostgreSQL) cannot be opened")
    assert "secret-password" not in lines[0], "the DSN's password is never printed"


async def test_serve_with_workers_refuses_to_start_mocks_in_every_worker() -> None:
    status, lines = await _serve(_bare_env(GATEWAY_AUTH__DEV_ISSUER="true"), "--workers", "2")
    assert status == 1
    assert len(lines) == 1, lines
    assert "--workers starts no mock registries" in lines[0]


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_serve_refuses_a_trusted_document_that_does_not_validate_naming_the_file(
    registries: MockRegistries, tmp_path: Path, workers: str
) -> None:
    (tmp_path / "summary.graphql").write_bytes(SUMMARY_QUERY_FILE.read_bytes())
    (tmp_path / "ehr").mkdir()
    typo = "query Typo($nin: NationalIdentityNumber!) {\n  patient(nin: $nin) { nim }\n}\n"
    (tmp_path / "ehr" / "typo.graphql").write_text(typo, encoding="utf-8")
    env = gateway_env(
        settings_for(registries),
        GATEWAY_GRAPHQL__PERSISTED_QUERIES="trusted",
        GATEWAY_GRAPHQL__TRUSTED_DOCUMENTS_DIR=str(tmp_path),
    )
    status, lines = await _serve(env, "--workers", workers)
    assert status == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith("summary-gateway: ")
    assert "ehr/typo.graphql:2:24: Cannot query field 'nim' on type 'Patient'" in lines[0]
    assert "summary.graphql" not in lines[0]


async def test_serve_refuses_a_core_record_without_consent_unless_told_where_privacy_is_enforced(
    registries: MockRegistries,
) -> None:
    """A core record that cannot hold privacy settings would make every summary fail closed,
    or be read without the patient's blocks: refused at start, unless the deployment says where
    they are enforced instead."""
    from aiohttp import web

    from tests.conftest import served

    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{"mode": "server", "resource": [{"type": "Patient"}, {"type": "Condition"}]}],
    }

    async def metadata(request: web.Request) -> web.Response:
        return web.json_response(statement)

    app = web.Application()
    app.router.add_get("/fhir/metadata", metadata)
    async with served(app) as url:
        env = gateway_env(settings_for(registries))
        env["GATEWAY_SOURCES__CORE_RECORD__BASE_URL"] = f"{url}/fhir"
        status, lines = await _serve(env)
        assert status == 1
        assert len(lines) == 1, lines
        assert "does not offer Consent" in lines[0]
        assert "GATEWAY_SOURCES__CORE_RECORD__PRIVACY_ENFORCED_BY" in lines[0]
