"""Persisted documents: trusted documents by hash, automatic persisted queries, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.errors import ConfigurationError
from gateway.graphql.persisted import PersistedDocuments, PersistedQueryError, document_hash
from gateway.settings import GraphQLSettings, Settings

REGISTERED = "query Registered { __typename }\n"
OTHER = "{ __typename }"


def by_hash(text: str) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_hash(text)}}


@pytest.fixture
def documents_dir(tmp_path: Path) -> Path:
    (tmp_path / "integrations").mkdir()
    (tmp_path / "integrations" / "registered.graphql").write_text(REGISTERED, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a document", encoding="utf-8")
    return tmp_path


def documents(mode: str, directory: Path | None = None, **options: object) -> PersistedDocuments:
    return PersistedDocuments(
        GraphQLSettings.model_validate(
            {"persisted_queries": mode, "trusted_documents_dir": directory, **options}
        )
    )


def refusal(persisted: PersistedDocuments, query: str | None, extensions: object) -> str:
    with pytest.raises(PersistedQueryError) as raised:
        persisted.resolve(query, extensions)  # type: ignore[arg-type]
    assert raised.value.extensions is not None
    code: str = raised.value.extensions["code"]
    return code


def test_the_hash_is_sha256_of_the_utf8_text() -> None:
    assert document_hash("{ __typename }") == (
        "7f56e67dd21ab3f30d1ff8b7bed08893f0a0db86449836189b361dd1e56ddb4b"
    )


def test_a_trusted_document_runs_by_its_hash(documents_dir: Path) -> None:
    trusted = documents("trusted", documents_dir)
    assert trusted.resolve(None, by_hash(REGISTERED)) == REGISTERED
    # The text of a registered document is accepted too, with or without its hash.
    assert trusted.resolve(REGISTERED, None) == REGISTERED
    assert trusted.resolve(REGISTERED, by_hash(REGISTERED)) == REGISTERED


def test_an_unknown_hash_is_not_found(documents_dir: Path) -> None:
    assert refusal(documents("trusted", documents_dir), None, by_hash(OTHER)) == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


def test_trusted_mode_refuses_an_arbitrary_query(documents_dir: Path) -> None:
    trusted = documents("trusted", documents_dir)
    assert refusal(trusted, OTHER, None) == "PERSISTED_QUERY_NOT_ALLOWED"
    assert refusal(trusted, OTHER, by_hash(OTHER)) == "PERSISTED_QUERY_NOT_ALLOWED"
    # Refused text is not remembered: its hash is still unknown afterwards.
    assert refusal(trusted, None, by_hash(OTHER)) == "PERSISTED_QUERY_NOT_FOUND"


def test_trusted_mode_without_a_directory_does_not_start() -> None:
    with pytest.raises(ConfigurationError, match="trusted_documents_dir"):
        documents("trusted")


def test_automatic_persisted_queries_register_on_the_second_round_trip() -> None:
    apq = documents("apq")
    assert refusal(apq, None, by_hash(OTHER)) == "PERSISTED_QUERY_NOT_FOUND"
    assert apq.resolve(OTHER, by_hash(OTHER)) == OTHER
    assert apq.resolve(None, by_hash(OTHER)) == OTHER
    assert apq.resolve("{ plain }", None) == "{ plain }"


def test_automatic_persisted_queries_forget_the_least_recently_used() -> None:
    apq = documents("apq", apq_cache_size=1)
    apq.resolve(OTHER, by_hash(OTHER))
    apq.resolve(REGISTERED, by_hash(REGISTERED))
    assert refusal(apq, None, by_hash(OTHER)) == "PERSISTED_QUERY_NOT_FOUND"
    assert apq.resolve(None, by_hash(REGISTERED)) == REGISTERED


def test_a_hash_that_does_not_match_its_text_is_refused() -> None:
    assert refusal(documents("apq"), OTHER, by_hash(REGISTERED)) == (
        "PERSISTED_QUERY_HASH_MISMATCH"
    )


@pytest.mark.parametrize(
    "persisted",
    [
        {"version": 2, "sha256Hash": "0" * 64},
        {"version": 1, "sha256Hash": "ABC"},
        {"version": 1},
        "hash",
    ],
)
def test_a_malformed_persisted_query_extension_is_refused(persisted: object) -> None:
    assert refusal(documents("apq"), None, {"persistedQuery": persisted}) == (
        "PERSISTED_QUERY_INVALID"
    )


def test_with_persisted_queries_off_a_hash_is_not_supported() -> None:
    off = documents("off")
    assert refusal(off, None, by_hash(OTHER)) == "PERSISTED_QUERY_NOT_SUPPORTED"
    assert off.resolve(OTHER, None) == OTHER


def test_a_trusted_document_that_does_not_validate_stops_the_app_naming_the_file(
    documents_dir: Path, settings: Settings
) -> None:
    (documents_dir / "integrations" / "broken.graphql").write_text(
        "query Broken {\n  patient(nin: 1) { nin }\n", encoding="utf-8"
    )
    (documents_dir / "unknown.graphql").write_text("{ nobody }", encoding="utf-8")
    graphql = GraphQLSettings(persisted_queries="trusted", trusted_documents_dir=documents_dir)
    with pytest.raises(ConfigurationError) as refused:
        create_app(settings.model_copy(update={"graphql": graphql}))
    message = refused.value.message
    assert "integrations/broken.graphql:3:1: Syntax Error" in message
    assert "unknown.graphql:1:3: Cannot query field 'nobody' on type 'Query'" in message
    assert "registered.graphql" not in message


def test_trusted_documents_are_checked_against_the_gateway_limits_too(
    documents_dir: Path, settings: Settings
) -> None:
    graphql = GraphQLSettings(
        persisted_queries="trusted", trusted_documents_dir=documents_dir, max_depth=1
    )
    (documents_dir / "deep.graphql").write_text(
        "query Deep($nin: NationalIdentityNumber!) { patient(nin: $nin) { nin } }", encoding="utf-8"
    )
    with pytest.raises(ConfigurationError) as refused:
        create_app(settings.model_copy(update={"graphql": graphql}))
    assert (
        "deep.graphql:1:1: The query is more than 1 fields deep (the limit)."
        in refused.value.message
    )
