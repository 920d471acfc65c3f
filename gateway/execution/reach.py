"""The output types a query can reach, for checking the shortcuts' invariants against a schema.

A shared list's completion is reused across requests, so every type that can sit in such a list,
at any depth and through any object, interface or union, must have only plain fields (see
``plans.getter``). A walk that looked only at the lists directly under each section missed the
types of lists inside a nested object (``ownRegistrations.communicationNeeds.needs``); this one
follows every field of every type it meets.
"""

from __future__ import annotations

from collections.abc import Iterable

from graphql import (
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    is_list_type,
    is_non_null_type,
)


def reachable_types(schema: GraphQLSchema, start: Iterable[GraphQLNamedType]) -> set[str]:
    """The names of every output type a selection can reach from ``start`` (included): through
    every field, list or not, every interface an object implements (a fragment may be spread
    on it) and every possible type of an interface or union."""
    seen: set[str] = set()
    pending = list(start)
    while pending:
        named = pending.pop()
        if named.name in seen:
            continue
        seen.add(named.name)
        if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
            pending.extend(schema.get_possible_types(named))
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            pending.extend(named.interfaces)
            pending.extend(get_named_type(field.type) for field in named.fields.values())
    return seen


def list_item_types(schema: GraphQLSchema, start: Iterable[GraphQLNamedType]) -> set[str]:
    """The names of every type that can be an item of a list (or reached from one) in a
    selection from ``start``: what a completion kept on a ``SharedList`` may hold."""
    items: list[GraphQLNamedType] = []
    for name in reachable_types(schema, start):
        named = schema.type_map[name]
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field in named.fields.values():
                unwrapped = field.type.of_type if is_non_null_type(field.type) else field.type
                if is_list_type(unwrapped):
                    items.append(get_named_type(field.type))
    return reachable_types(schema, items)
