"""Settings: read from the environment with nested names, validated, and refused when unusable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.app import create_app
from gateway.errors import ConfigurationError
from gateway.settings import Settings, SourceSettings


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
