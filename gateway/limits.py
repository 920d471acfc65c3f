"""How much one GraphQL document may ask for: depth, aliases, tokens and cost.

Each limit is checked before any resolver runs and fails with its own ``extensions.code``:

    ============================  =====================  ==========================================
    setting (``GraphQLSettings``) code                   what is counted
    ============================  =====================  ==========================================
    ``max_tokens``                ``TOO_MANY_TOKENS``    lexical tokens, while parsing (comments
                                                         are not tokens)
    ``max_depth``                 ``QUERY_TOO_DEEP``     nesting of fields, fragments expanded
    ``max_aliases``               ``TOO_MANY_ALIASES``   aliases written in the document
    ``max_cost``                  ``QUERY_TOO_COSTLY``   fields resolved, each multiplied by the
                                                         assumed length of every list above it
    ============================  =====================  ==========================================

A value equal to its limit passes; one more fails. Introspection fields (``__schema``,
``__type``) count neither depth nor cost: graphql-core's ``MaxIntrospectionDepthRule`` bounds
them, and the introspection setting decides whether they are allowed at all
(``gateway/introspection.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLObjectType
from graphql.validation.rules.max_introspection_depth_rule import MaxIntrospectionDepthRule
from strawberry.extensions import SchemaExtension

from gateway.settings import GraphQLSettings

_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
_TOKEN_LIMIT_MESSAGE = re.compile(r"Document contains more than (\d+) tokens")


class TokenLimit(SchemaExtension):
    """Stops the parser after ``max_tokens`` tokens: the cheapest limit, checked first."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens

    def on_operation(self) -> Iterator[None]:
        # strawberry's ParseOptions type predates graphql-core's ``max_lexical_tokens`` (the
        # older ``max_tokens`` is deprecated and also counts comments).
        options = cast(dict[str, Any], self.execution_context.parse_options)
        options["max_lexical_tokens"] = self.max_tokens
        yield


def token_limit_error(error: GraphQLError) -> bool:
    """Rewrite graphql-core's token-limit syntax error into ours; True if it was one."""
    match = _TOKEN_LIMIT_MESSAGE.search(error.message)
    if match is None:
        return False
    error.message = f"The document has more than {match.group(1)} tokens (the limit)."
    error.extensions = {"code": "TOO_MANY_TOKENS", "limit": int(match.group(1))}
    return True


@dataclass(frozen=True, slots=True)
class Measure:
    """What one operation asks for."""

    depth: int
    cost: int


class _Measurer:
    """Walks an operation with the schema's types, fragments expanded once per spread."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, settings: GraphQLSettings):
        self.schema = schema
        self.settings = settings
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def operation(self, node: OperationDefinitionNode) -> Measure:
        root = self.schema.get_root_type(node.operation)
        if root is None:
            return Measure(0, 0)
        return self._selections(node.selection_set, root, 1, frozenset())

    def _list_size(self, parent: GraphQLNamedType, field: str) -> int:
        return self.settings.list_sizes.get(
            f"{parent.name}.{field}", self.settings.default_list_size
        )

    def _selections(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType,
        multiplier: int,
        seen: frozenset[str],
    ) -> Measure:
        depth, cost = 0, 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                measure = self._field(selection, parent, multiplier, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                measure = self._selections(
                    selection.selection_set, target or parent, multiplier, seen
                )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # unknown or cyclic: other rules report it
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value)
                measure = self._selections(
                    fragment.selection_set, target or parent, multiplier, seen | {name}
                )
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            depth = max(depth, measure.depth)
            cost += measure.cost
        return Measure(depth, cost)

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType, multiplier: int, seen: frozenset[str]
    ) -> Measure:
        name = node.name.value
        if name in _INTROSPECTION_ROOTS:
            return Measure(0, 0)
        if name == "__typename" or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return Measure(1, multiplier)
        definition = parent.fields.get(name)
        if definition is None:  # an unknown field: FieldsOnCorrectTypeRule reports it
            return Measure(1, multiplier)
        cost = multiplier
        if node.selection_set is None:
            return Measure(1, cost)
        child_multiplier = multiplier
        if is_list_type(get_nullable_type(definition.type)):
            child_multiplier *= self._list_size(parent, name)
        below = self._selections(
            node.selection_set, get_named_type(definition.type), child_multiplier, seen
        )
        return Measure(1 + below.depth, cost + below.cost)


def measure_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    settings: GraphQLSettings,
) -> Measure:
    """Depth and cost of one operation of ``document`` (used by the rule and by tests)."""
    return _Measurer(schema, document, settings).operation(operation)


def limit_rules(settings: GraphQLSettings) -> list[type[ASTValidationRule]]:
    """The validation rules that enforce ``settings``' depth, alias and cost limits."""

    class OperationLimits(ValidationRule):
        """Refuses documents over the configured depth, alias or cost limit."""

        def enter_document(self, node: DocumentNode, *_args: Any) -> Any:
            context: ValidationContext = self.context
            aliases = sum(1 for _ in _aliases(node))
            if aliases > settings.max_aliases:
                self.report_error(
                    GraphQLError(
                        f"The document has {aliases} aliases; the limit is {settings.max_aliases}.",
                        extensions={"code": "TOO_MANY_ALIASES", "limit": settings.max_aliases},
                    )
                )
            measurer = _Measurer(context.schema, node, settings)
            for operation in node.definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                measure = measurer.operation(operation)
                if measure.depth > settings.max_depth:
                    self.report_error(
                        GraphQLError(
                            f"The query is {measure.depth} fields deep; the limit is "
                            f"{settings.max_depth}.",
                            operation,
                            extensions={"code": "QUERY_TOO_DEEP", "limit": settings.max_depth},
                        )
                    )
                if measure.cost > settings.max_cost:
                    self.report_error(
                        GraphQLError(
                            f"The query would cost {measure.cost} (fields times assumed list "
                            f"sizes); the limit is {settings.max_cost}.",
                            operation,
                            extensions={"code": "QUERY_TOO_COSTLY", "limit": settings.max_cost},
                        )
                    )
            return self.BREAK

    return [OperationLimits, MaxIntrospectionDepthRule]


def _aliases(node: DocumentNode) -> Iterator[FieldNode]:
    stack: list[SelectionSetNode] = [
        d.selection_set
        for d in node.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode) and selection.alias is not None:
                yield selection
            selection_set = getattr(selection, "selection_set", None)
            if selection_set is not None:
                stack.append(selection_set)
