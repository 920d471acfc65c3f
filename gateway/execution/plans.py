"""Completion plans: plain objects turned into response dicts without per-field machinery.

graphql-core completes every field the same general way: resolve info, path, awaitable checks,
the resolver wrapper, the leaf's coercion. Most of the summary is plain data (a prescription's
medication, a visit's institution, a search's outcome), whose fields are attributes read by
strawberry's default resolver. For such a selection the executor runs a plan made once per
selection instead: a dict of the selected attributes, each coerced by its own GraphQL type, as
graphql-core would.

A selection gets a plan only when nothing in it needs the general path: every field has
strawberry's default resolver and no arguments, no directives, no fragments, no abstract types,
no field selected twice. A plan that meets anything unexpected (a null where the schema says
non-null, a value its type cannot coerce, a missing attribute) raises, and the executor
completes the value again the general way, which reports the error where graphql-core would.

Plans are kept per schema (``Plans``, owned by the schema's execution context class): they hold
the schema's own types and a document's nodes, compared by identity.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import Undefined
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from gateway.execution.by_identity import MISSING, ByIdentity
from gateway.execution.shared_list import SharedList

Complete = Callable[[Any], Any]

MAX_PLANS = 4096
"""Selections whose plan (or lack of one) a schema remembers; the oldest are forgotten first."""


class NotPlain(Exception):
    """The value does not fit the plan; complete it the general way."""


class Plans:
    """The plans of one schema, by their type and nodes (``None``: that selection has none)."""

    __slots__ = ("_kept",)

    def __init__(self, max_entries: int = MAX_PLANS) -> None:
        self._kept: ByIdentity[Complete | None] = ByIdentity(max_entries)

    def object_plan(
        self, object_type: GraphQLObjectType, nodes: tuple[FieldNode, ...]
    ) -> Complete | None:
        """The plan completing ``object_type`` for the selection of ``nodes``, if it has one."""
        return self._planned(object_type, nodes, _object)

    def list_plan(
        self, list_type: GraphQLList[Any], nodes: tuple[FieldNode, ...]
    ) -> Complete | None:
        """The plan completing a list of ``list_type`` for the selection of ``nodes``, if any."""
        return self._planned(list_type, nodes, _value)

    def _planned(
        self,
        output_type: Any,
        nodes: tuple[FieldNode, ...],
        make: Callable[[Any, tuple[FieldNode, ...]], Complete | None],
    ) -> Complete | None:
        owners: tuple[object, ...] = (output_type, *nodes)
        kept = self._kept.get(owners)
        if kept is not MISSING:
            return kept
        plan = make(output_type, nodes)
        self._kept.put(owners, plan)
        return plan

    def __len__(self) -> int:
        return len(self._kept)


def _object(object_type: GraphQLObjectType, nodes: tuple[FieldNode, ...]) -> Complete | None:
    fields: list[tuple[str, Complete | None, Complete]] = []
    keys: set[str] = set()
    for node in nodes:
        if node.selection_set is None:
            return None
        for selection in node.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.directives:
                return None
            if selection.arguments:
                return None
            key = selection.alias.value if selection.alias else selection.name.value
            if key in keys:
                return None  # the same key twice would need graphql-core's field merging
            keys.add(key)
            name = selection.name.value
            if name == "__typename":
                fields.append((key, None, _constant(object_type.name)))
                continue
            field_def = object_type.fields.get(name)
            get = getter(field_def) if field_def is not None else None
            if field_def is None or get is None:
                return None
            complete = _value(field_def.type, (selection,))
            if complete is None:
                return None
            fields.append((key, get, complete))
    is_type_of = object_type.is_type_of
    frozen = tuple(fields)

    def complete_object(value: Any) -> dict[str, Any]:
        # strawberry's is_type_of checks the class and never reads its info.
        if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
            raise NotPlain
        return {
            key: complete(get(value) if get is not None else None) for key, get, complete in frozen
        }

    return complete_object


def getter(field_def: GraphQLField) -> Complete | None:
    """How the field reads its value from the object, when that is all it does: strawberry's
    default resolver (the attribute), or a resolver method of no arguments that is synchronous
    and takes neither info nor root (it reads the object and nothing else)."""
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField):
        return None
    if field_def.resolve is not None and is_default_resolver(field_def.resolve):
        return operator.attrgetter(definition.python_name)
    resolver = definition.base_resolver
    if (
        resolver is None
        or definition.extensions
        or resolver.is_async
        or resolver.arguments
        or resolver.self_parameter is None
        or resolver.info_parameter is not None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
    ):
        return None
    method = resolver.wrapped_func
    if isinstance(method, staticmethod | classmethod):
        return None
    return method


def _value(output_type: GraphQLOutputType, nodes: tuple[FieldNode, ...]) -> Complete | None:
    """How to complete a value of ``output_type``; None when it needs the general path."""
    if is_non_null_type(output_type):
        assert isinstance(output_type, GraphQLNonNull)
        inner = _value(output_type.of_type, nodes)
        if inner is None:
            return None
        return _required(inner)
    if is_list_type(output_type):
        assert isinstance(output_type, GraphQLList)
        item = _value(output_type.of_type, nodes)
        return _list(item) if item is not None else None
    if is_leaf_type(output_type):
        return _leaf(output_type.coerce_output_value)
    if is_object_type(output_type):
        assert isinstance(output_type, GraphQLObjectType)
        plan = _object(output_type, nodes)
        return _nullable(plan) if plan is not None else None
    return None  # interfaces and unions: the general path resolves their runtime type


def _constant(value: str) -> Complete:
    return lambda _: value


def _required(inner: Complete) -> Complete:
    def complete_required(value: Any) -> Any:
        completed = inner(value)
        if completed is None:
            raise NotPlain
        return completed

    return complete_required


def _list(item: Complete) -> Complete:
    def complete_list(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is SharedList:
            # The same list, completed by this same plan before: reuse it.
            kept = value.completed.get(owner)
            if kept is MISSING:
                kept = [item(each) for each in value]
                value.completed.put(owner, kept)
            return kept
        if isinstance(value, str | bytes | dict):
            raise NotPlain
        return [item(each) for each in value]

    owner = (complete_list,)
    return complete_list


def _leaf(coerce: Callable[[Any], Any]) -> Complete:
    def complete_leaf(value: Any) -> Any:
        if value is None:
            return None
        try:
            coerced = coerce(value)
        except Exception as exc:
            # graphql-core's coercion error names the value: the general path reports it.
            raise NotPlain from exc
        if coerced is None or coerced is Undefined:
            raise NotPlain
        return coerced

    return complete_leaf


def _nullable(plan: Complete) -> Complete:
    def complete_nullable(value: Any) -> Any:
        return None if value is None else plan(value)

    return complete_nullable
