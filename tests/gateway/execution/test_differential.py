"""The shortcuts give what plain execution gives, on generated queries over the real schema.

hypothesis-graphql generates queries under ``Query.patient`` (every section, nested selections,
aliases, fragments, arguments); each runs for several actors against the mock registries, through
two schemas that differ only in their execution context: the gateway's (plans, kept completions)
and strawberry's own. Both share one set of clients and one cache, so they complete the very same
shared lists. After a first run has warmed the cache, the gateway's execution runs before and
after the plain one (the second time with kept completions): data and errors must be equal, once
times and durations are stripped.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries

from gateway.graphql.schema import build_schema
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from resolvers.examples import summary_query
from tests.conftest import SchemaRunner, fresh_runner, settings_for, strip_timing

ACTORS = ("home-care-gp", "home-care-nurse", "pharmacist", "patient")
PATIENTS = ("home-care-elderly", "many-medicines", "restricted-sections", "minimal")

SHORTCUTS = build_schema()
PLAIN = build_schema(shortcuts=False)


def _string(values: st.SearchStrategy[str]) -> st.SearchStrategy[graphql.ValueNode]:
    return values.map(lambda value: graphql.StringValueNode(value=value))


SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "NationalIdentityNumber": _string(st.sampled_from([fixture(p).nin for p in PATIENTS])),
    "Date": _string(st.sampled_from(["2020-01-01", "2025-06-30"])),
    "DateTime": _string(st.sampled_from(["2020-01-01T00:00:00Z", "2025-06-30T12:00:00+02:00"])),
    "FhirDateTime": _string(st.sampled_from(["2020", "2024-05", "2025-06-30T12:00:00Z"])),
}

PATIENT_QUERIES = queries(SHORTCUTS._schema, fields=["patient"], custom_scalars=SCALARS)


@pytest.fixture(scope="module")
async def runners(shared_registries: MockRegistries) -> AsyncIterator[tuple[SchemaRunner, ...]]:
    """One runner with the gateway's schema and one with the plain schema, over the same clients
    and cache; timeouts long enough that a cold search never times out in one run only."""
    configured = settings_for(
        shared_registries, cache_ttl_s=600.0, timeout_s=10.0, connect_timeout_s=10.0
    )
    async with fresh_runner(configured) as runner:
        yield (
            dataclasses.replace(runner, schema=SHORTCUTS),
            dataclasses.replace(runner, schema=PLAIN),
        )


AGES = frozenset({"ageSeconds", "staleAgeSeconds"})
"""How old a cached answer is: it grows between two runs, as times do."""


def _without_ages(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ages(v) for k, v in value.items() if k not in AGES}
    if isinstance(value, list):
        return [_without_ages(v) for v in value]
    return value


def _comparable(answer: dict[str, Any]) -> tuple[Any, list[str]]:
    errors = sorted(json.dumps(error, sort_keys=True) for error in answer["errors"])
    return _without_ages(strip_timing(answer["data"])), errors


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(query=PATIENT_QUERIES, actor=st.sampled_from(ACTORS))
async def test_shortcuts_answer_what_plain_execution_answers(
    runners: tuple[SchemaRunner, SchemaRunner], query: str, actor: str
) -> None:
    shortcuts, plain = runners
    await shortcuts.execute(query, persona=actor)  # warms the cache: every run after is warm
    first = _comparable(await shortcuts.execute(query, persona=actor))
    expected = _comparable(await plain.execute(query, persona=actor))
    again = _comparable(await shortcuts.execute(query, persona=actor))
    assert first == expected, query
    assert again == expected, query


@pytest.mark.parametrize("actor", ACTORS)
async def test_the_summary_answers_alike_for_each_actor(
    runners: tuple[SchemaRunner, SchemaRunner], actor: str
) -> None:
    """The query the shortcuts were made for, on the patient with the most in her lists."""
    shortcuts, plain = runners
    variables = {"nin": fixture("home-care-elderly").nin}
    await shortcuts.execute(summary_query(), variables, persona=actor)
    first = _comparable(await shortcuts.execute(summary_query(), variables, persona=actor))
    expected = _comparable(await plain.execute(summary_query(), variables, persona=actor))
    again = _comparable(await shortcuts.execute(summary_query(), variables, persona=actor))
    assert first == expected
    assert again == expected
    assert SHORTCUTS.shortcuts is not None
    assert len(SHORTCUTS.shortcuts.plans) > 0, "the summary is completed by plans"


def test_the_two_schemas_differ_only_in_their_executor() -> None:
    assert SHORTCUTS.shortcuts is not None and PLAIN.shortcuts is None
    assert PLAIN.execution_context_class is not SHORTCUTS.execution_context_class
    assert graphql.print_schema(PLAIN._schema) == graphql.print_schema(SHORTCUTS._schema)
