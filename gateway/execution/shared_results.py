"""Completing plain objects by plan, and a cached list once per selection, not once per request.

Most of a warm summary's CPU went to graphql-core completing the same lists of plain objects (a
patient's prescriptions, visits, lab results…) into the same JSON-ready dicts, request after
request. The executor here completes a selection that has a plan (``plans``) by that plan, and
when the list comes from the cache unchanged (``SharedList``, made by ``FhirSource.fetch`` from
values mapped from a cached answer) the plan keeps what it completed on the list itself; the
next request that selects the same fields of the same list gets it back.

Why this is safe (``gateway/execution/__init__.py`` states the whole set of invariants):
- a completion is kept only when a plan produced it: a plan exists only for a selection with no
  arguments, variables, directives or fragments, of fields that read the object and nothing
  else, so what it gives depends on the list and the selection alone;
- the memo lives on the list object, which exists only while its cache entry does, and belongs
  to one source's answer about one patient: a list some request may see is a list the policy
  already let that request see (the section's decision and its access-log event run on every
  request; only the conversion to JSON is skipped);
- a plan that meets a value it does not fit raises before anything is kept, and the value is
  completed the general way, which reports any error where graphql-core would. Each such
  fallback is counted (``gateway_execution_fallbacks_total{reason}``): ``value_not_plain`` is
  the data (a null where the schema says non-null, a value its type cannot coerce),
  ``plan_raised`` is a plan that broke, which makes requests silently slower and is a bug.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Final, Protocol

from graphql import GraphQLList, GraphQLObjectType, GraphQLResolveInfo
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.execution.plans import Complete, NotPlain, Plans

log = logging.getLogger("gateway.execution")

VALUE_NOT_PLAIN: Final = "value_not_plain"
PLAN_RAISED: Final = "plan_raised"
FALLBACK_REASONS: Final = (VALUE_NOT_PLAIN, PLAN_RAISED)
"""Why a plan gave way to the general path (the labels of the fallback counter)."""


class Counts(Protocol):
    """What a fallback is counted on: a prometheus counter child, or anything with ``inc``."""

    def inc(self, amount: float = 1) -> None: ...


class _Tally:
    """Counts kept in the object when no metric is given (a schema built outside the app)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1) -> None:
        self.value += amount


class LabelledCounter(Protocol):
    """A counter with one label (``reason``), as prometheus-client's ``Counter``."""

    def labels(self, reason: str) -> Counts: ...


class Shortcuts:
    """One schema's shortcuts: its plans, where their fallbacks are counted, and the execution
    context class that uses them (``context_class``, given to ``strawberry.Schema``)."""

    def __init__(self, fallbacks: LabelledCounter | None = None) -> None:
        self.plans = Plans()
        self._counted: dict[str, Counts] = {reason: _Tally() for reason in FALLBACK_REASONS}
        if fallbacks is not None:
            self.count_in(fallbacks)
        # A class per schema, so that nothing the shortcuts keep is shared across schemas.
        self.context_class: type[SharingExecutionContext] = type(
            "SharingExecutionContext", (SharingExecutionContext,), {"shortcuts": self}
        )

    def count_in(self, counter: LabelledCounter) -> None:
        """Count fallbacks in ``counter`` from now on (the app's metrics)."""
        self._counted = {reason: counter.labels(reason) for reason in FALLBACK_REASONS}

    def fell_back(
        self, reason: str, where: GraphQLObjectType | GraphQLList[Any], exc: Exception
    ) -> None:
        """A plan gave way to the general path: count it, and say where at debug level (the
        type and the exception's class only: its message may hold patient data)."""
        self._counted[reason].inc()
        log.debug("completion plan for %s fell back (%s: %s)", where, reason, type(exc).__name__)


class SharingExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, completing plain selections by plan (see ``plans``) and
    keeping a plan's completion of a shared list. Use ``Shortcuts().context_class``, which binds
    the schema's own ``shortcuts``."""

    shortcuts: ClassVar[Shortcuts]

    def complete_object_value(  # noqa: PLR0917 (graphql-core's signature)
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        nodes = tuple(details.node for details in field_details_list)
        plan = self.shortcuts.plans.object_plan(return_type, nodes)
        if plan is not None:
            completed = self._by_plan(plan, return_type, result)
            if completed is not _FELL_BACK:
                return completed
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
        plan = self.shortcuts.plans.list_plan(return_type, nodes)
        if plan is not None:
            # On a SharedList the plan keeps its completion on the list (``plans._list``).
            completed = self._by_plan(plan, return_type, result)
            if completed is not _FELL_BACK:
                return completed
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _by_plan(
        self, plan: Complete, where: GraphQLObjectType | GraphQLList[Any], result: Any
    ) -> Any:
        try:
            return plan(result)
        except NotPlain as exc:
            self.shortcuts.fell_back(VALUE_NOT_PLAIN, where, exc)
        except Exception as exc:
            self.shortcuts.fell_back(PLAN_RAISED, where, exc)
        return _FELL_BACK


_FELL_BACK: Any = object()
"""What ``_by_plan`` gives when the value must be completed the general way."""
