"""Every private strawberry, graphql-core and asyncio name the execution shortcuts rely on.

No public API offers these (``gateway/execution/__init__.py`` says what each shortcut relies on).
When an upgrade renames or reshapes one, this file fails first, naming it, instead of a shortcut
quietly falling back to the slow path or giving a different answer. Each test says which module
uses the name; the public names used instead of private ones are checked at the end.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import graphql
import graphql.execution
import strawberry
from graphql import GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema, parse, specified_rules
from graphql.execution.collect_fields import FieldDetails
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext, validate_document
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from gateway.execution.validation_cache import STRAWBERRY_RULES, validate

COMPLETE_PARAMETERS = [
    "self",
    "return_type",
    "field_details_list",
    "info",
    "path",
    "result",
    "position_context",
]


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Thing(Named):
    weight: float

    @strawberry.field
    def loud(self) -> str:
        return self.name.upper()


@strawberry.input(one_of=True)
class Pick:
    by_name: strawberry.Maybe[str]
    by_weight: strawberry.Maybe[float]


SEEN: list[Any] = []


@strawberry.type
class Query:
    @strawberry.field
    def thing(self, info: Info) -> Thing:
        SEEN.append(info._raw_info)
        return Thing(name="a", weight=1.0)

    @strawberry.field
    def pick(self, by: Pick) -> str:
        return "picked"

    @strawberry.field
    def maybe(self, text: strawberry.Maybe[str] = None) -> str:
        return "ok"


SCHEMA = strawberry.Schema(query=Query, types=[Thing])


def _thing() -> GraphQLObjectType:
    thing = SCHEMA._schema.type_map["Thing"]
    assert isinstance(thing, GraphQLObjectType)
    return thing


def test_schema_underscore_schema_is_the_graphql_core_schema() -> None:
    # validation_cache.CachedValidation, GatewaySchema.request_errors, tests: strawberry.Schema
    # offers its graphql-core schema under no public name.
    assert isinstance(SCHEMA._schema, GraphQLSchema), "strawberry.Schema._schema has changed"


def test_info_underscore_raw_info_is_graphql_cores_info() -> None:
    # resolvers/patient.py _selected_names: Info has no public field_nodes.
    SEEN.clear()
    assert SCHEMA.execute_sync("{ thing { name } }").errors is None
    assert len(SEEN) == 1
    raw = SEEN[0]
    # graphql-core's GraphQLResolveInfo, or strawberry's copy of its fields.
    assert set(GraphQLResolveInfo._fields) <= set(raw._fields), "Info._raw_info has changed"
    assert [node.name.value for node in raw.field_nodes] == ["thing"]


def test_the_default_execution_context_is_the_one_the_shortcuts_extend() -> None:
    # shared_results.SharingExecutionContext subclasses it, to keep what strawberry adds.
    assert SCHEMA.execution_context_class is StrawberryGraphQLCoreExecutionContext, (
        "strawberry's default execution context class is no longer "
        "strawberry.schema.schema.StrawberryGraphQLCoreExecutionContext"
    )
    # graphql-core 3.3's executor, whose completion methods the shortcuts override.
    assert issubclass(StrawberryGraphQLCoreExecutionContext, graphql.execution.Executor)


def test_complete_value_methods_keep_their_signatures() -> None:
    # shared_results overrides these two graphql-core 3.3 methods (not public API).
    for name in ("complete_object_value", "complete_list_value"):
        method = getattr(StrawberryGraphQLCoreExecutionContext, name, None)
        assert method is not None, f"graphql-core ExecutionContext.{name} is gone"
        parameters = list(inspect.signature(method).parameters)
        assert parameters == COMPLETE_PARAMETERS, (
            f"graphql-core ExecutionContext.{name}{inspect.signature(method)} has changed"
        )
    # What each item of field_details_list is read for: its node.
    assert "node" in FieldDetails._fields, "graphql-core FieldDetails.node has changed"


def test_strawberry_field_definitions_are_reachable_from_graphql_core_fields() -> None:
    # plans.getter reads the StrawberryField behind a graphql-core field, and its resolver.
    field = _thing().fields["loud"]
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    assert isinstance(definition, StrawberryField), (
        "GraphQLCoreConverter.DEFINITION_BACKREF no longer leads to the StrawberryField"
    )
    assert definition.python_name == "loud"
    assert definition.extensions == []
    resolver = definition.base_resolver
    assert resolver is not None
    for attribute in (
        "is_async",
        "arguments",
        "self_parameter",
        "info_parameter",
        "root_parameter",
        "parent_parameter",
        "wrapped_func",
    ):
        assert hasattr(resolver, attribute), f"StrawberryResolver.{attribute} is gone"
    assert resolver.self_parameter is not None
    assert resolver.info_parameter is None
    method = resolver.wrapped_func
    assert callable(method)  # plans.getter calls it with the object alone
    assert method(Thing(name="b", weight=0.0)) == "B"


def test_is_default_resolver_tells_attributes_from_methods() -> None:
    # plans.getter: public (strawberry.resolvers.is_default_resolver), but what it tells apart
    # rests on strawberry marking the resolvers it makes.
    fields = _thing().fields
    assert fields["weight"].resolve is not None
    assert is_default_resolver(fields["weight"].resolve)
    assert fields["loud"].resolve is not None
    assert not is_default_resolver(fields["loud"].resolve)


def test_strawberrys_is_type_of_reads_no_info() -> None:
    # plans: a plan calls is_type_of(value, None), as it has no resolve info.
    is_type_of = _thing().is_type_of
    assert is_type_of is not None
    assert is_type_of(Thing(name="c", weight=2.0), None)  # type: ignore[arg-type]
    assert not is_type_of(object(), None)  # type: ignore[arg-type]


def test_strawberry_adds_exactly_the_rules_validation_cache_adds() -> None:
    # validation_cache.validate: graphql-core's public validate plus STRAWBERRY_RULES stands
    # in for strawberry's validate_document, which must find the same errors.
    assert list(inspect.signature(validate_document).parameters) == [
        "schema",
        "document",
        "validation_rules",
    ]
    documents = [
        "{ thing { name } }",
        '{ pick(by: { byName: "a", byWeight: 1.5 }) }',
        "{ pick(by: {}) }",
        "{ maybe(text: null) }",
        "{ nothing }",
    ]
    for text in documents:
        document = parse(text)
        ours = [e.message for e in validate(SCHEMA._schema, document, specified_rules)]
        theirs = validate_document(SCHEMA._schema, document, tuple(specified_rules))
        assert ours == [e.message for e in theirs], text
    # The documents above exercise both rules: each finds something.
    for rule in STRAWBERRY_RULES:
        found = [
            graphql.validate(SCHEMA._schema, parse(text), [rule])
            for text in documents
            if graphql.validate(SCHEMA._schema, parse(text), [rule])
        ]
        assert found, f"no document exercises {rule.__name__}"


async def test_an_awaited_future_carries_asyncios_blocking_mark() -> None:
    # eager.now_or_later undoes the mark a future gets when a coroutine yields it to no task.
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    assert hasattr(future, "_asyncio_future_blocking"), "asyncio.Future lost its blocking mark"

    async def waits() -> int:
        return await future

    coroutine = waits()
    yielded = coroutine.send(None)
    assert yielded is future
    assert future._asyncio_future_blocking is True
    coroutine.close()
