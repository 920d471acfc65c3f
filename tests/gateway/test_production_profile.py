"""``GATEWAY_PROFILE=production``: introspection, suggestions and GraphiQL off, trusted documents
only; anything set explicitly still wins."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gateway.graphql.schema import build_schema
from gateway.settings import GraphQLSettings, Settings
from tests.conftest import SchemaRunner
from tests.gateway.test_settings import _settings_in_a_process_with


def test_the_demo_defaults_are_friendly() -> None:
    settings = Settings()
    assert settings.profile == "demo"
    assert settings.graphiql is True
    assert settings.graphql.introspection is True
    assert settings.graphql.field_suggestions is True
    assert settings.graphql.persisted_queries == "apq"
    assert settings.graphql.batching_enabled is False
    assert settings.graphql.csrf_prevention is True


def test_the_production_profile_turns_off_what_helps_an_attacker(tmp_path: Path) -> None:
    settings = Settings(profile="production", graphql={"trusted_documents_dir": tmp_path})
    assert settings.graphiql is False
    assert settings.graphql.introspection is False
    assert settings.graphql.field_suggestions is False
    assert settings.graphql.persisted_queries == "trusted"
    assert settings.graphql.trusted_documents_dir == tmp_path


def test_explicit_settings_win_over_the_profile() -> None:
    settings = Settings(
        profile="production", graphiql=True, graphql=GraphQLSettings(introspection=True)
    )
    assert settings.graphiql is True
    assert settings.graphql.introspection is True
    assert settings.graphql.field_suggestions is False


def test_the_profile_and_limits_are_read_from_the_environment() -> None:
    settings = _settings_in_a_process_with(
        {
            "GATEWAY_PROFILE": "production",
            "GATEWAY_GRAPHQL__MAX_DEPTH": "7",
            "GATEWAY_GRAPHQL__CORS_ALLOW_ORIGINS": '["https://ehr.example.no"]',
            "GATEWAY_REQUEST_DEADLINE_S": "2.5",
        }
    )
    assert settings["graphql"]["introspection"] is False
    assert settings["graphql"]["persisted_queries"] == "trusted"
    assert settings["graphql"]["max_depth"] == 7
    assert settings["graphql"]["cors_allow_origins"] == ["https://ehr.example.no"]
    assert settings["request_deadline_s"] == 2.5


NIN = "12834122055"
REGISTER = (
    "mutation($nin: NationalIdentityNumber!, $input: OngoingTreatmentInput!) "
    "{ registerOngoingTreatment(nin: $nin, input: $input) { replayed } }"
)


def register_literal(input_fields: str, arguments: str = "") -> str:
    return (
        f'mutation {{ registerOngoingTreatment(nin: "{NIN}", input: {{{input_fields}}}{arguments}) '
        "{ replayed } }"
    )


TYPO_CASES = [
    pytest.param("{ patinet { nin } }", None, "'patient'", id="field"),
    pytest.param(f'{{ patient(nin: "{NIN}") }}', None, "'patient { ... }'", id="subfields"),
    pytest.param(f'{{ patient(ni: "{NIN}") {{ nin }} }}', None, "'nin'", id="argument"),
    pytest.param(
        "query($nin: NationalIdentityNumbr!) { patient(nin: $nin) { nin } }",
        None,
        "'NationalIdentityNumber'",
        id="type",
    ),
    pytest.param(
        register_literal('treatmen: DIALYSIS, note: "x", startedOn: "2026-10-01"'),
        None,
        "'treatment'",
        id="input-field-literal",
    ),
    pytest.param(
        register_literal('treatment: DIALYSI, note: "x", startedOn: "2026-10-01"'),
        None,
        "'DIALYSIS'",
        id="enum-value-literal",
    ),
    pytest.param(
        REGISTER,
        {"nin": NIN, "input": {"treatmen": "DIALYSIS", "note": "x", "startedOn": "2026-10-01"}},
        "'treatment'",
        id="input-field-variable",
    ),
    pytest.param(
        REGISTER,
        {"nin": NIN, "input": {"treatment": "DIALYSI", "note": "x", "startedOn": "2026-10-01"}},
        "'DIALYSIS'",
        id="enum-value-variable",
    ),
]


@pytest.mark.parametrize(("query", "variables", "suggested"), TYPO_CASES)
async def test_no_error_suggests_a_name_in_production(
    runner: SchemaRunner, query: str, variables: dict[str, Any] | None, suggested: str
) -> None:
    context = runner.context()
    demo = await build_schema(graphql=Settings().graphql).execute(
        query, variable_values=variables, context_value=context
    )
    demo_messages = " ".join(error.message for error in demo.errors or [])
    assert re.search(f"Did you mean [^?]*{re.escape(suggested)}", demo_messages), demo_messages
    production = await build_schema(graphql=Settings(profile="production").graphql).execute(
        query, variable_values=variables, context_value=runner.context()
    )
    assert production.errors
    assert [error.message for error in production.errors if "Did you mean" in error.message] == []
