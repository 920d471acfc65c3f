"""The walk that says what a shared list can hold reaches every type a query can reach."""

from __future__ import annotations

from graphql import (
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_output_type,
)

from gateway.execution.plans import getter
from gateway.execution.reach import list_item_types, reachable_types
from gateway.graphql.schema import build_schema

SCHEMA = build_schema()._schema


def _patient() -> GraphQLNamedType:
    query = SCHEMA.query_type
    assert query is not None
    patient: GraphQLNamedType = get_named_type(query.fields["patient"].type)
    return patient


def test_the_walk_reaches_every_type_a_query_can_reach_from_patient() -> None:
    # graphql-core collects every type reachable from a root when it builds a schema: made with
    # Patient as the root, its type map is what a query under Query.patient can select.
    patient = _patient()
    assert isinstance(patient, GraphQLObjectType)
    collected = GraphQLSchema(query=patient).type_map
    selectable = {
        name
        for name, named in collected.items()
        if not name.startswith("__") and is_output_type(named)
    }
    walked = reachable_types(SCHEMA, [patient])
    assert walked == selectable
    assert {"OwnRegistrationsSection", "CommunicationNeeds", "Section"} <= walked


def test_lists_inside_nested_objects_are_walked() -> None:
    """The two types the earlier walk missed: items of lists inside communicationNeeds."""
    in_lists = list_item_types(SCHEMA, [_patient()])
    assert {"CommunicationNeed", "Language"} <= in_lists
    assert {"Prescription", "Dispensing", "Visit", "LabReport"} <= in_lists


def test_whatever_a_shared_list_can_hold_reads_only_its_object() -> None:
    """A kept completion is reused for another request, so every field of every type that can
    sit in a list mapped from the cache must depend on the object alone (no info, no context,
    no arguments, nothing awaited). ``plans.getter`` says which fields qualify."""
    impure = [
        f"{name}.{field_name}"
        for name in sorted(list_item_types(SCHEMA, [_patient()]))
        if isinstance(named := SCHEMA.type_map[name], GraphQLObjectType)
        for field_name, field in named.fields.items()
        if getter(field) is None
    ]
    assert impure == []
