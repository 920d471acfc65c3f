"""A plan that does not fit its value gives way to the general path: the answer is what
graphql-core gives, and the fallback is counted by reason, in the app's metric."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import strawberry
from strawberry.extensions import ParserCache

from gateway.execution.shared_list import shared
from gateway.execution.shared_results import PLAN_RAISED, VALUE_NOT_PLAIN, Shortcuts
from gateway.ops.metrics import GatewayMetrics

SECRET = "12834122055"  # what a broken value could hold: it must not reach the log


@strawberry.type
class Reading:
    unit: str
    value: float | None


class BrokenReading(Reading):
    """A reading whose value cannot be read: the plan's attribute read raises."""

    @property
    def value(self) -> float | None:
        raise RuntimeError(f"sensor of {SECRET} is broken")

    @value.setter
    def value(self, _: float | None) -> None:
        pass  # the dataclass __init__ sets it; nothing is kept


READINGS: list[Reading] = shared(
    [
        Reading(unit="kg", value=70.5),
        BrokenReading(unit="kg", value=None),
        Reading(unit="kg", value=71.0),
    ]
)
UNITLESS: list[Reading] = shared([Reading(unit="kg", value=1.0), Reading(unit=None, value=2.0)])  # type: ignore


@strawberry.type
class Query:
    @strawberry.field
    def readings(self) -> list[Reading]:
        return READINGS

    @strawberry.field
    def unitless(self) -> list[Reading] | None:
        return UNITLESS


def _schemas() -> tuple[strawberry.Schema, strawberry.Schema, GatewayMetrics]:
    metrics = GatewayMetrics()
    shortcuts = Shortcuts(metrics.execution_fallbacks)
    plain = strawberry.Schema(query=Query, extensions=[ParserCache])
    sharing = strawberry.Schema(
        query=Query, extensions=[ParserCache], execution_context_class=shortcuts.context_class
    )
    return plain, sharing, metrics


def _run(schema: strawberry.Schema, query: str) -> Any:
    result = schema.execute_sync(query)
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


def _fallbacks(metrics: GatewayMetrics, reason: str) -> float:
    value = metrics.registry.get_sample_value(
        "gateway_execution_fallbacks_total", {"reason": reason}
    )
    return value or 0.0


def test_a_plan_that_raises_falls_back_answers_right_and_is_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    plain, sharing, metrics = _schemas()
    query = "{ readings { unit value } }"
    expected = _run(plain, query)
    assert expected[1] == [(f"sensor of {SECRET} is broken", ("readings", 1, "value"))]
    with caplog.at_level(logging.DEBUG, logger="gateway.execution"):
        for _ in range(3):
            assert _run(sharing, query) == expected
    # Every request: the list's plan, then the broken item's own plan, fall back.
    assert _fallbacks(metrics, PLAN_RAISED) == 6
    assert _fallbacks(metrics, VALUE_NOT_PLAIN) == 0
    # (strawberry's own error log, which the gateway's schema replaces, is not ours to judge.)
    ours = [r.getMessage() for r in caplog.records if r.name == "gateway.execution"]
    assert len(ours) == 6
    assert all("RuntimeError" in line and SECRET not in line for line in ours), ours


def test_a_value_the_plan_does_not_fit_falls_back_and_is_counted_as_data() -> None:
    plain, sharing, metrics = _schemas()
    query = "{ unitless { unit value } }"
    expected = _run(plain, query)
    assert expected[0] == {"unitless": None}, "a null in a non-null field nulls the list"
    assert _run(sharing, query) == expected
    assert _fallbacks(metrics, VALUE_NOT_PLAIN) >= 1
    assert _fallbacks(metrics, PLAN_RAISED) == 0


def test_a_plan_that_fits_is_not_counted() -> None:
    _plain, sharing, metrics = _schemas()
    assert _run(sharing, "{ unitless { value } }")[1] == []
    assert _fallbacks(metrics, VALUE_NOT_PLAIN) == 0
    assert _fallbacks(metrics, PLAN_RAISED) == 0
