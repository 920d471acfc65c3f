"""Settings: read from the environment with nested names, validated, and refused when unusable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.app import create_app
from gateway.errors import ConfigurationError
from gateway.settings import AuditSettings, Settings, SourceSettings
from tests.process_support import run_cli


def _settings_in_a_process_with(env: dict[str, str]) -> dict[str, Any]:
    """Settings as a fresh process reads them from ``env`` (no patching of this process)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    output = subprocess.run(
        [
            sys.executable,
            "-c",
            "from gateway.settings import Settings; print(Settings().model_dump_json())",
        ],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    settings: dict[str, Any] = json.loads(output)
    return settings


def test_nested_environment_variables_set_one_source_and_leave_the_rest_default() -> None:
    settings = _settings_in_a_process_with(
        {
            "GATEWAY_SOURCES__PRESCRIPTIONS__BASE_URL": "https://fhir.example.no/rf/fhir/",
            "GATEWAY_SOURCES__PRESCRIPTIONS__TIMEOUT_S": "2.5",
            "GATEWAY_PORT": "9000",
        }
    )
    assert settings["port"] == 9000
    prescriptions = settings["sources"]["prescriptions"]
    assert prescriptions["base_url"] == "https://fhir.example.no/rf/fhir"
    assert prescriptions["timeout_s"] == 2.5
    assert prescriptions["page_size"] == SourceSettings().page_size
    assert settings["sources"]["gp_registry"]["base_url"] is None


@pytest.mark.parametrize("url", ["ftp://x/fhir", "fhir.example.no", ""])
def test_a_base_url_must_be_http_or_https(url: str) -> None:
    with pytest.raises(ValidationError, match="base_url"):
        SourceSettings(base_url=url)


def test_unknown_settings_are_refused_rather_than_ignored() -> None:
    with pytest.raises(ValidationError):
        SourceSettings(base_url="http://x/fhir", timeout=3)  # type: ignore[call-arg]


def test_create_app_refuses_to_start_with_a_source_that_has_nowhere_to_go() -> None:
    with pytest.raises(ConfigurationError, match="gp_registry"):
        create_app(Settings().with_source_urls({"prescriptions": "http://127.0.0.1:1/fhir"}))


def test_with_source_urls_fills_in_only_the_named_sources() -> None:
    settings = Settings().with_source_urls({"documents": "http://127.0.0.1:9/fhir"})
    assert settings.sources.documents.base_url == "http://127.0.0.1:9/fhir"
    assert settings.sources.documents.timeout_s == SourceSettings().timeout_s
    assert settings.sources.prescriptions.base_url is None


def test_each_source_has_its_own_cache_lifetime_however_it_is_configured() -> None:
    defaults = Settings().sources
    assert defaults.gp_registry.cache_ttl_s > defaults.prescriptions.cache_ttl_s
    from_env = _settings_in_a_process_with(
        {
            "GATEWAY_SOURCES__PRESCRIPTIONS__BASE_URL": "https://fhir.example.no/rf/fhir",
            "GATEWAY_SOURCES__GP_REGISTRY__STALE_MAX_S": "5",
        }
    )["sources"]
    assert from_env["prescriptions"]["cache_ttl_s"] == defaults.prescriptions.cache_ttl_s
    assert from_env["gp_registry"]["cache_ttl_s"] == defaults.gp_registry.cache_ttl_s
    assert from_env["gp_registry"]["stale_max_s"] == 5
    given = Settings(sources={"gp_registry": SourceSettings(cache_ttl_s=7)})
    assert given.sources.gp_registry.cache_ttl_s == 7
    assert given.sources.gp_registry.stale_max_s == defaults.gp_registry.stale_max_s


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://gateway:s3cret-pw@db.example.no:54x2/audit",
        "postgresql://gateway:s3cret-pw@db.example.no:99999/audit",
        "postgresql://gateway:s3cret-pw@db-a:5432,db-b:five/audit",
        "mysql://gateway:s3cret-pw@db.example.no/audit",
    ],
)
def test_a_malformed_postgres_dsn_is_refused_by_name_without_echoing_it(dsn: str) -> None:
    with pytest.raises(ValidationError, match="postgres_dsn") as refused:
        AuditSettings.model_validate({"postgres_dsn": dsn})
    assert "s3cret-pw" not in str(refused.value)


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://gateway@127.0.0.1:5432/test",
        "postgres://gateway@db-a:5432,db-b/audit",
        "postgresql://gateway@[::1]:5432/audit",
        "postgresql:///audit?host=/run/postgresql",
    ],
)
def test_a_well_formed_postgres_dsn_is_accepted(dsn: str) -> None:
    audit = AuditSettings.model_validate({"postgres_dsn": dsn})
    assert audit.postgres_dsn is not None


async def test_serve_with_a_malformed_dsn_port_says_so_in_one_line_without_a_traceback(
    tmp_path: Path,
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env = {
        **clean,
        "GATEWAY_DATA_DIR": str(tmp_path),
        "GATEWAY_AUTH__DEV_ISSUER": "true",
        "GATEWAY_AUDIT__POSTGRES_DSN": "postgresql://gateway:s3cret-pw@127.0.0.1:54x2/audit",
    }
    for command in (["serve", "--port", "0"], ["audit", "head"]):
        ran = await run_cli(*command, env=env)
        assert ran.returncode == 1, ran.err
        assert "Traceback" not in ran.err
        assert ran.err.strip().splitlines() == [
            "summary-gateway: invalid setting audit.postgres_dsn: Value error, "
            "the port of each host must be a number from 1 to 65535"
        ]
        assert "s3cret-pw" not in ran.err + ran.out


def test_a_refused_setting_is_not_quoted_even_in_the_exceptions_text() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate(
            {"audit": {"postgres_dsn": "postgresql://gateway:s3cret-pw@127.0.0.1:54x2/audit"}}
        )
    assert "audit.postgres_dsn" in str(refused.value)
    assert "s3cret-pw" not in str(refused.value)
