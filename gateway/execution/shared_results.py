"""Completing a cached list once per query, not once per request.

Most of a warm summary's CPU went to graphql-core completing the same lists of plain objects (a
patient's prescriptions, visits, lab results…) into the same JSON-ready dicts, request after
request. When a list comes from the cache unchanged (``shared``, called by ``FhirSource.fetch``
on values mapped from a cached answer), the executor keeps what it completed, per selection, on
the list itself; the next request that selects the same fields of the same list gets it back.

Why this is safe:
- the memo lives on the list object, which exists only while its cache entry does, and belongs
  to one source's answer about one patient: a list some request may see is a list the policy
  already let that request see (the section's decision and its access-log event run on every
  request; only the conversion to JSON is skipped);
- the selection is compared by node identity and the memo holds those nodes, so an id is never
  reused while its entry lives; a selection with variables or directives is never memoised;
- a completion that raised or recorded an error, or that had to await anything, is not kept;
- every type reachable from such a list has only plain fields, which read the object and
  nothing else (``tests/gateway/test_shared_results.py`` walks the schema to hold that).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLObjectType,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
    Visitor,
    visit,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.execution import plans
from gateway.execution.by_identity import MISSING
from gateway.execution.shared_list import SharedList

_NOT_SHAREABLE: Any = object()
"""Kept in place of a completion whose selection has variables or directives."""


class SharingExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, keeping the completion of shared lists, and completing
    plain objects (see ``plans``) without graphql-core's per-field machinery."""

    def complete_object_value(  # noqa: PLR0917 (graphql-core's signature)
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        plan = plans.object_plan(return_type, tuple(d.node for d in field_details_list))
        if plan is not None:
            try:
                return plan(result)
            except Exception:
                pass
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def complete_list_value(  # noqa: PLR0917 (graphql-core's signature)
        self,
        return_type: GraphQLList[Any],
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        nodes = tuple(details.node for details in field_details_list)
        if type(result) is not SharedList:
            return self._complete_list(
                return_type, field_details_list, info, path, result, position_context, nodes
            )
        kept = result.completed.get(nodes)
        if kept is not MISSING:
            if kept is not _NOT_SHAREABLE:
                return kept
            return self._complete_list(
                return_type, field_details_list, info, path, result, position_context, nodes
            )
        errors_before = len(self.collected_errors.errors)
        completed = self._complete_list(
            return_type, field_details_list, info, path, result, position_context, nodes
        )
        if self.is_awaitable(completed) or len(self.collected_errors.errors) != errors_before:
            return completed  # not kept, and judged afresh next time
        plain = all(_plain(node, self.fragment_definitions) for node in nodes)
        result.completed.put(nodes, completed if plain else _NOT_SHAREABLE)
        return completed

    def _complete_list(  # noqa: PLR0917
        self,
        return_type: GraphQLList[Any],
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
        nodes: tuple[FieldNode, ...],
    ) -> Any:
        plan = plans.list_plan(return_type, nodes)
        if plan is not None:
            try:
                return plan(result)
            except Exception:
                pass
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )


class _FindsVariablesOrDirectives(Visitor):
    found = False

    def enter_variable(self, *_: Any) -> Any:
        self.found = True
        return self.BREAK

    def enter_directive(self, *_: Any) -> Any:
        self.found = True
        return self.BREAK


def _plain(node: FieldNode, fragments: dict[str, FragmentDefinitionNode]) -> bool:
    """Whether the completion of ``node``'s selection depends on nothing but the data: no
    variables and no directives anywhere in it, fragments included."""
    pending: list[FieldNode | SelectionSetNode] = [node]
    seen: set[str] = set()
    while pending:
        current = pending.pop()
        finder = _FindsVariablesOrDirectives()
        visit(current, finder)
        if finder.found:
            return False
        spreads: list[FragmentSpreadNode] = []
        _collect_spreads(current, spreads)
        for spread in spreads:
            name = spread.name.value
            if name in seen:
                continue
            seen.add(name)
            fragment = fragments.get(name)
            if fragment is None:
                return False
            pending.append(fragment.selection_set)
    return True


def _collect_spreads(node: Any, into: list[FragmentSpreadNode]) -> None:
    selection_set = getattr(node, "selection_set", None)
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            into.append(selection)
        elif isinstance(selection, FieldNode | InlineFragmentNode):
            _collect_spreads(selection, into)
