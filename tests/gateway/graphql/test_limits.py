"""Each limit at its boundary: a document exactly at the limit runs, one step beyond is refused
with the limit's code, before any resolver runs. Also introspection and field suggestions."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLNamedType,
    OperationDefinitionNode,
    Source,
    TokenKind,
    parse,
)
from graphql.language.lexer import Lexer

from gateway.graphql.limits import LimitExceeded, Measure, OperationMeasurer
from gateway.graphql.schema import build_schema
from gateway.settings import GraphQLSettings
from tests.conftest import SchemaRunner

NIN = "12834122055"
# patient(1) > medications(2) > prescriptions(3) > medication(4) > atcCode(5)
DEEP = (
    f'{{ patient(nin: "{NIN}") '
    "{ medications { prescriptions { medication { atcCode } } } } }"
)
# patient 1 + nin 1 + medications 1 + prescriptions 1 + id (once per prescription: list size)
COSTLY = f'{{ patient(nin: "{NIN}") {{ nin medications {{ prescriptions {{ id }} }} }} }}'


async def run(runner: SchemaRunner, query: str, **limits: Any) -> tuple[Any, list[dict[str, Any]]]:
    schema = build_schema(graphql=GraphQLSettings(**limits))
    context = runner.context()
    result = await schema.execute(query, context_value=context)
    return result.data, [dict(error.formatted) for error in result.errors or []]


def codes(errors: list[dict[str, Any]]) -> list[str]:
    return [error["extensions"]["code"] for error in errors]


def token_count(query: str) -> int:
    lexer = Lexer(Source(query))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


async def test_a_query_at_the_depth_limit_runs_and_one_level_deeper_is_refused(
    runner: SchemaRunner,
) -> None:
    data, errors = await run(runner, DEEP, max_depth=5)
    assert errors == []
    assert data["patient"]["medications"]["prescriptions"]
    data, errors = await run(runner, DEEP, max_depth=4)
    assert data is None
    assert codes(errors) == ["QUERY_TOO_DEEP"]
    assert errors[0]["message"] == "The query is more than 4 fields deep (the limit)."


async def test_depth_counts_through_fragments(runner: SchemaRunner) -> None:
    query = (
        f'{{ patient(nin: "{NIN}") {{ ...M }} }} '
        "fragment M on Patient { medications { prescriptions { medication { atcCode } } } }"
    )
    assert codes((await run(runner, query, max_depth=4))[1]) == ["QUERY_TOO_DEEP"]
    assert (await run(runner, query, max_depth=5))[1] == []


async def test_aliases_at_the_limit_run_and_one_more_is_refused(runner: SchemaRunner) -> None:
    query = f'{{ a: patient(nin: "{NIN}") {{ x: nin y: synthetic }} }}'
    data, errors = await run(runner, query, max_aliases=3)
    assert errors == []
    assert data["a"]["x"] == NIN
    data, errors = await run(runner, query, max_aliases=2)
    assert data is None
    assert codes(errors) == ["TOO_MANY_ALIASES"]


async def test_tokens_at_the_limit_parse_and_one_more_is_refused(runner: SchemaRunner) -> None:
    query = f'{{ patient(nin: "{NIN}") {{ nin }} }}'
    tokens = token_count(query)
    assert tokens == 11
    assert (await run(runner, query, max_tokens=tokens))[1] == []
    data, errors = await run(runner, query, max_tokens=tokens - 1)
    assert data is None
    assert codes(errors) == ["TOO_MANY_TOKENS"]
    assert errors[0]["message"] == f"The document has more than {tokens - 1} tokens (the limit)."


async def test_comments_are_not_tokens(runner: SchemaRunner) -> None:
    query = "# a comment\n" * 50 + "{ __typename }"
    assert (await run(runner, query, max_tokens=3))[1] == []


async def test_cost_multiplies_by_the_assumed_list_size(runner: SchemaRunner) -> None:
    # 4 single fields + 1 field under a list assumed to hold 10 items = 14.
    assert (await run(runner, COSTLY, max_cost=14, default_list_size=10))[1] == []
    data, errors = await run(runner, COSTLY, max_cost=13, default_list_size=10)
    assert data is None
    assert codes(errors) == ["QUERY_TOO_COSTLY"]


async def test_a_per_field_list_size_overrides_the_default(runner: SchemaRunner) -> None:
    sizes = {"MedicationsSection.prescriptions": 50}
    assert (await run(runner, COSTLY, max_cost=54, list_sizes=sizes))[1] == []
    errors = (await run(runner, COSTLY, max_cost=53, list_sizes=sizes))[1]
    assert codes(errors) == ["QUERY_TOO_COSTLY"]


async def test_nested_lists_multiply(runner: SchemaRunner) -> None:
    # labResults.reports (list) > results (list) > id: 1+1+1 + 10 + 10*10 = 113 with size 10.
    query = f'{{ patient(nin: "{NIN}") {{ labResults {{ reports {{ results {{ id }} }} }} }} }}'
    assert codes((await run(runner, query, max_cost=112))[1]) == ["QUERY_TOO_COSTLY"]
    assert (await run(runner, query, max_cost=113))[1] == []


async def test_the_default_limits_admit_the_example_summary(runner: SchemaRunner) -> None:
    from resolvers.examples import summary_query

    context = runner.context()
    result = await build_schema().execute(
        summary_query(), variable_values={"nin": NIN}, context_value=context
    )
    assert result.errors is None


async def test_introspection_is_refused_when_off_but_typename_is_not(
    runner: SchemaRunner,
) -> None:
    data, errors = await run(runner, "{ __schema { queryType { name } } }", introspection=False)
    assert data is None
    assert codes(errors) == ["INTROSPECTION_DISABLED"]
    errors = (await run(runner, '{ __type(name: "Query") { name } }', introspection=False))[1]
    assert codes(errors) == ["INTROSPECTION_DISABLED"]
    assert (await run(runner, "{ __typename }", introspection=False))[1] == []
    assert (await run(runner, "{ __schema { queryType { name } } }"))[1] == []


async def test_field_suggestions_are_left_out_when_off(runner: SchemaRunner) -> None:
    on = (await run(runner, "{ patinet { nin } }"))[1]
    assert "Did you mean 'patient'?" in on[0]["message"]
    off = (await run(runner, "{ patinet { nin } }", field_suggestions=False))[1]
    assert off[0]["message"] == "Cannot query field 'patinet' on type 'Query'."
    assert codes(off) == ["GRAPHQL_VALIDATION_FAILED"]


def test_a_paged_list_counts_at_its_default_page_size() -> None:
    from graphql import parse

    from gateway.graphql.limits import measure_operation

    gateway_schema = build_schema()
    from gateway.settings import GraphQLSettings

    document = parse(
        '{ accessLog(nin: "12834122055", first: 100) { entries { fields { field } } } }'
    )
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    measured = measure_operation(gateway_schema._schema, document, operation, GraphQLSettings())
    # accessLog 1 + entries 1 + 20 * (fields 1 + 10 * field 1)
    assert measured.cost == 1 + 1 + 20 * (1 + 10 * 1)


def fan_out(levels: int) -> str:
    """A document of ``levels`` fragments, each spreading the one below twice: about 40 bytes a
    level, expanding to 2 ** (levels - 1) ``__typename`` fields."""
    fragments = " ".join(
        f"fragment F{level} on Query {{ ...F{level - 1} ...F{level - 1} }}"
        for level in range(1, levels)
    )
    return f"{{ ...F{levels - 1} }} fragment F0 on Query {{ __typename }} {fragments}"


class CountingMeasurer(OperationMeasurer):
    """Counts, per fragment, the measures started and finished."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started: Counter[str] = Counter()
        self.finished: Counter[str] = Counter()

    def measure_fragment(
        self,
        fragment: FragmentDefinitionNode,
        target: GraphQLNamedType,
        multiplier: int,
        level: int,
    ) -> Measure:
        self.started[fragment.name.value] += 1
        measure = super().measure_fragment(fragment, target, multiplier, level)
        self.finished[fragment.name.value] += 1
        return measure


def measurer_for(document: DocumentNode, *, limits: bool, **settings: Any) -> CountingMeasurer:
    return CountingMeasurer(
        build_schema()._schema, document, GraphQLSettings(**settings), limits=limits
    )


def only_operation(document: DocumentNode) -> OperationDefinitionNode:
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation


def test_each_fragment_is_measured_once_however_often_it_is_spread() -> None:
    document = parse(fan_out(60))
    measurer = measurer_for(document, limits=False)
    measured = measurer.operation(only_operation(document))
    # The whole expansion is counted (2 ** 59 fields), from 60 fragment measures.
    assert measured == Measure(depth=1, cost=2**59)
    assert measurer.started == {f"F{level}": 1 for level in range(60)}


def test_the_walk_stops_once_the_cost_passes_the_limit() -> None:
    document = parse(fan_out(60))
    measurer = measurer_for(document, limits=True, max_cost=5000)
    with pytest.raises(LimitExceeded) as exceeded:
        measurer.operation(only_operation(document))
    assert exceeded.value.code == "QUERY_TOO_COSTLY"
    # F12 expands to 4096 fields, F13 to 8192: nothing above F13 is finished.
    assert set(measurer.finished) == {f"F{level}" for level in range(13)}


def test_the_walk_stops_once_the_depth_passes_the_limit() -> None:
    document = parse(
        f'{{ patient(nin: "{NIN}") {{ ...Deep ...Later }} }} '
        "fragment Deep on Patient { medications { prescriptions { id } } } "
        "fragment Later on Patient { nin }"
    )
    measurer = measurer_for(document, limits=True, max_depth=3)
    with pytest.raises(LimitExceeded) as exceeded:
        measurer.operation(only_operation(document))
    assert exceeded.value.code == "QUERY_TOO_DEEP"
    # Stopped inside Deep (4 fields deep): Later is never looked at.
    assert measurer.started == {"Deep": 1}
    assert not measurer.finished


def test_a_cycle_of_fragments_ends_the_walk_and_validation_refuses_it() -> None:
    document = parse(
        "{ ...A } fragment A on Query { __typename ...B } fragment B on Query { ...A ...B }"
    )
    measured = measurer_for(document, limits=True).operation(only_operation(document))
    assert measured == Measure(depth=1, cost=1)


async def test_a_fan_out_of_60_fragment_levels_is_refused_as_too_costly(
    runner: SchemaRunner,
) -> None:
    data, errors = await run(runner, fan_out(60))
    assert data is None
    assert codes(errors) == ["QUERY_TOO_COSTLY"]
    assert errors[0]["message"] == (
        "The query would cost more than 5000 (the limit; fields times assumed list sizes)."
    )


async def test_a_cycle_of_fragments_is_refused_by_validation(runner: SchemaRunner) -> None:
    cycle = "{ ...A } fragment A on Query { __typename ...B } fragment B on Query { ...A ...B }"
    data, errors = await run(runner, cycle)
    assert data is None
    assert set(codes(errors)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert any("Cannot spread fragment 'A' within itself" in e["message"] for e in errors)


async def test_a_fan_out_within_a_raised_cost_limit_runs_in_time_proportional_to_its_text(
    runner: SchemaRunner,
) -> None:
    # The executor and the patient resolver's look at its selection take each fragment once.
    fragments = " ".join(
        f"fragment P{level} on Patient {{ ...P{level - 1} ...P{level - 1} }}"
        for level in range(1, 40)
    )
    query = f'{{ patient(nin: "{NIN}") {{ ...P39 }} }} fragment P0 on Patient {{ nin }} {fragments}'
    data, errors = await run(runner, query, max_cost=2**50)
    assert errors == []
    assert data == {"patient": {"nin": NIN}}
