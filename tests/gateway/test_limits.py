"""Each limit at its boundary: a document exactly at the limit runs, one step beyond is refused
with the limit's code, before any resolver runs. Also introspection and field suggestions."""

from __future__ import annotations

from typing import Any

from graphql import OperationDefinitionNode, Source, TokenKind
from graphql.language.lexer import Lexer

from gateway.schema import build_schema
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
    assert errors[0]["message"] == "The query is 5 fields deep; the limit is 4."


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
    from resolvers.examples import SUMMARY_QUERY

    context = runner.context()
    result = await build_schema().execute(
        SUMMARY_QUERY, variable_values={"nin": NIN}, context_value=context
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

    from gateway.limits import measure_operation
    from gateway.schema import schema as gateway_schema
    from gateway.settings import GraphQLSettings

    document = parse(
        '{ accessLog(nin: "12834122055", first: 100) { entries { fields { field } } } }'
    )
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    measured = measure_operation(gateway_schema._schema, document, operation, GraphQLSettings())
    # accessLog 1 + entries 1 + 20 * (fields 1 + 10 * field 1)
    assert measured.cost == 1 + 1 + 20 * (1 + 10 * 1)
