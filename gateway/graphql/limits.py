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
(``gateway/graphql/introspection.py``).
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
    """What one operation (or one selection in it) asks for."""

    depth: int
    cost: int


class LimitExceeded(Exception):
    """The walk passed a limit and stopped there; ``code`` says which."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class OperationMeasurer:
    """Measures the operations of one document with the schema's types.

    Work is proportional to the document, not to what its fragments expand to: each fragment is
    measured once (``measure_fragment``) and reused wherever it is spread. That holds because a
    selection's cost is linear in the multiplier it is reached under (each field costs the
    product of the assumed list sizes above it), so a fragment's measure is kept at multiplier 1
    and scaled. Fragments spread inside themselves (a cycle, which validation refuses) count
    nothing where they recur. With ``limits``, the walk stops as soon as the depth or the cost
    seen so far passes a limit (``LimitExceeded``): a document that expands to billions of fields
    is refused after the few thousand it takes to pass the limit.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        settings: GraphQLSettings,
        *,
        limits: bool = False,
    ) -> None:
        self.schema = schema
        self.settings = settings
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._max_depth = settings.max_depth if limits else None
        self._max_cost = settings.max_cost if limits else None
        self._measured: dict[tuple[str, str], Measure] = {}
        self._in_progress: set[str] = set()

    def operation(self, node: OperationDefinitionNode) -> Measure:
        """The depth and cost of one operation (``LimitExceeded`` past a limit, with limits)."""
        root = self.schema.get_root_type(node.operation)
        if root is None:
            return Measure(0, 0)
        try:
            return self._selections(node.selection_set, root, 1, 0)
        finally:
            # A walk stopped at a limit leaves fragments half measured; none is kept.
            self._in_progress.clear()

    def measure_fragment(
        self,
        fragment: FragmentDefinitionNode,
        target: GraphQLNamedType,
        multiplier: int,
        level: int,
    ) -> Measure:
        """One fragment's measure at multiplier 1, its depth relative to where it is spread.

        Called once per fragment and type (the spreads after the first reuse the result);
        ``multiplier`` and ``level`` are those of the first spread, for stopping at a limit.
        """
        return self._selections(fragment.selection_set, target, multiplier, level)

    def _list_size(self, parent: GraphQLNamedType, field: str) -> int:
        return self.settings.list_sizes.get(
            f"{parent.name}.{field}", self.settings.default_list_size
        )

    def _selections(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, multiplier: int, level: int
    ) -> Measure:
        """The selections' measure at multiplier 1; ``multiplier`` and ``level`` (fields above)
        place them in the operation, so that a limit is noticed as soon as it is passed."""
        depth, cost = 0, 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                measure = self._field(selection, parent, multiplier, level)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                measure = self._selections(
                    selection.selection_set, target or parent, multiplier, level
                )
            elif isinstance(selection, FragmentSpreadNode):
                measure = self._spread(selection, parent, multiplier, level)
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            depth = max(depth, measure.depth)
            cost += measure.cost
            # What this selection set adds is a lower bound of the operation's whole measure.
            if self._max_depth is not None and level + depth > self._max_depth:
                raise LimitExceeded("QUERY_TOO_DEEP")
            if self._max_cost is not None and multiplier * cost > self._max_cost:
                raise LimitExceeded("QUERY_TOO_COSTLY")
        return Measure(depth, cost)

    def _spread(
        self, node: FragmentSpreadNode, parent: GraphQLNamedType, multiplier: int, level: int
    ) -> Measure:
        name = node.name.value
        fragment = self.fragments.get(name)
        if fragment is None or name in self._in_progress:  # unknown or cyclic: rules report it
            return Measure(0, 0)
        target = self.schema.get_type(fragment.type_condition.name.value) or parent
        key = (name, target.name)
        measure = self._measured.get(key)
        if measure is None:
            self._in_progress.add(name)
            measure = self.measure_fragment(fragment, target, multiplier, level)
            self._in_progress.discard(name)
            self._measured[key] = measure
        return measure

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType, multiplier: int, level: int
    ) -> Measure:
        name = node.name.value
        if name in _INTROSPECTION_ROOTS:
            return Measure(0, 0)
        if self._max_depth is not None and level + 1 > self._max_depth:
            raise LimitExceeded("QUERY_TOO_DEEP")  # before going deeper, not on the way back
        if name == "__typename" or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return Measure(1, 1)
        definition = parent.fields.get(name)
        if definition is None or node.selection_set is None:
            # (an unknown field: FieldsOnCorrectTypeRule reports it)
            return Measure(1, 1)
        list_size = 1
        if is_list_type(get_nullable_type(definition.type)):
            list_size = self._list_size(parent, name)
        below = self._selections(
            node.selection_set, get_named_type(definition.type), multiplier * list_size, level + 1
        )
        return Measure(1 + below.depth, 1 + list_size * below.cost)


def measure_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    settings: GraphQLSettings,
) -> Measure:
    """Depth and cost of one operation of ``document``, measured whole (the limits do not stop
    the walk): for tests and for telling what a document costs."""
    return OperationMeasurer(schema, document, settings).operation(operation)


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
            measurer = OperationMeasurer(context.schema, node, settings, limits=True)
            for operation in node.definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                try:
                    measurer.operation(operation)
                except LimitExceeded as exceeded:
                    self.report_error(_limit_error(exceeded.code, operation, settings))
            return self.BREAK

    return [OperationLimits, MaxIntrospectionDepthRule]


def _limit_error(
    code: str, operation: OperationDefinitionNode, settings: GraphQLSettings
) -> GraphQLError:
    if code == "QUERY_TOO_DEEP":
        limit = settings.max_depth
        message = f"The query is more than {limit} fields deep (the limit)."
    else:
        limit = settings.max_cost
        message = (
            f"The query would cost more than {limit} (the limit; fields times assumed list sizes)."
        )
    return GraphQLError(message, operation, extensions={"code": code, "limit": limit})


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
