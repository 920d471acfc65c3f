"""Errors are safe to show and to log: our own say what they are, others are masked."""

from __future__ import annotations

import logging

import pytest
import strawberry

from gateway.actor import Actor, ActorKind, StatedAccess
from gateway.context import Context
from gateway.errors import SourceTimeout
from gateway.schema import GatewaySchema
from gateway.settings import Settings

NIN = "".join(["128341", "22055"])
DRUG = "penicillin".upper()


@strawberry.type
class _Query:
    @strawberry.field
    def boom(self) -> str:
        # Built at run time, as real data would be (a literal would show in the stack's source).
        raise RuntimeError(f"patient {NIN} has {DRUG} allergy")

    @strawberry.field
    def slow(self) -> str | None:
        raise SourceTimeout("lab_results", "the lab results registry did not answer in time")


def _context() -> Context:
    return Context(
        request_id="req-42",
        settings=Settings(),
        clients=None,  # type: ignore[arg-type]
        deadline=0.0,
        actor=Actor(ActorKind.HEALTH_PERSONNEL, "test"),
        stated=StatedAccess(),
        audit_writer=None,  # type: ignore[arg-type]
    )


async def test_an_unexpected_exception_is_masked_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    schema = GatewaySchema(query=_Query)
    with caplog.at_level(logging.DEBUG):
        result = await schema.execute("{ boom }", context_value=_context())
    assert result.errors is not None
    error = result.errors[0].formatted
    assert error["message"] == "Internal error (request id req-42)"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
    assert "RuntimeError" in caplog.text, "the detail goes to the log"
    assert NIN not in caplog.text, "but never the exception's message"
    assert DRUG not in caplog.text


async def test_a_gateway_error_keeps_its_message_and_code() -> None:
    schema = GatewaySchema(query=_Query)
    result = await schema.execute("{ slow }", context_value=_context())
    assert result.errors is not None
    error = result.errors[0].formatted
    assert error["message"] == "the lab results registry did not answer in time"
    assert error["extensions"] == {"code": "SOURCE_TIMEOUT", "source": "lab_results"}
