"""Mutations count toward the same limits as queries: depth, cost and aliases, before anything
is logged or written."""

from __future__ import annotations

from mocks.runner import MockRegistries
from tests.conftest import SchemaRunner
from tests.gateway.graphql.test_limits import codes, run

NIN = "12834122055"
# registerOngoingTreatment(1) > entries(2) > id(3); cost: the field, replayed, entries, and 10
# (the assumed list size) x 3 fields per entry = 33
MUTATION = (
    f'mutation {{ registerOngoingTreatment(nin: "{NIN}", input: {{treatment: DIALYSIS, '
    'note: "Dialyse", startedOn: "2026-10-01"}) { replayed entries { resourceType id version } } }'
)


async def test_a_mutation_beyond_the_depth_or_cost_limit_is_refused_and_writes_nothing(
    runner: SchemaRunner, registries: MockRegistries
) -> None:
    data, errors = await run(runner, MUTATION, max_depth=2)
    assert data is None and codes(errors) == ["QUERY_TOO_DEEP"]
    data, errors = await run(runner, MUTATION, max_cost=32)
    assert data is None and codes(errors) == ["QUERY_TOO_COSTLY"]
    assert len(registries.population.edits) == 0
    data, errors = await run(runner, MUTATION, max_depth=3, max_cost=33)
    assert errors == [], "at the limits it runs (the default persona is a doctor)"
    assert len(registries.population.edits) == 1


async def test_aliased_mutations_count_toward_the_alias_limit(
    runner: SchemaRunner, registries: MockRegistries
) -> None:
    field = MUTATION.removeprefix("mutation { ").removesuffix(" }")
    many = "mutation { " + " ".join(f"m{i}: {field}" for i in range(3)) + " }"
    data, errors = await run(runner, many, max_aliases=2)
    assert data is None and codes(errors) == ["TOO_MANY_ALIASES"]
    assert len(registries.population.edits) == 0
