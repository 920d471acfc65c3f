"""``GATEWAY_PROFILE=production``: introspection, suggestions and GraphiQL off, trusted documents
only; anything set explicitly still wins."""

from __future__ import annotations

from pathlib import Path

from gateway.settings import GraphQLSettings, Settings
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
