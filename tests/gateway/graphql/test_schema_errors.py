"""Errors are safe to show and to log: our own say what they are, others are masked."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import strawberry

from gateway.access.actor import Actor, ActorKind, StatedAccess
from gateway.errors import SourceTimeout
from gateway.graphql.context import Context
from gateway.graphql.schema import GatewaySchema
from gateway.settings import Settings
from resolvers.examples import summary_query
from tests.conftest import SchemaRunner

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


ACCESS_LOG = (
    "query($nin: NationalIdentityNumber!, $first: Int!) "
    "{ accessLog(nin: $nin, first: $first) { entries { at } } }"
)
REGISTER = (
    "mutation($nin: NationalIdentityNumber!, $input: OngoingTreatmentInput!) "
    "{ registerOngoingTreatment(nin: $nin, input: $input) { replayed } }"
)
TREATMENT = {"treatment": "DIALYSIS", "note": "Dialyse", "startedOn": "2026-10-01"}


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        (
            summary_query(),
            None,
            "Variable '$nin' has invalid value: Expected a value of non-null type "
            "'NationalIdentityNumber!' to be provided.",
        ),
        (
            summary_query(),
            {"nin": None},
            "Variable '$nin' has invalid value: Expected value of non-null type "
            "'NationalIdentityNumber!' not to be None.",
        ),
        (
            ACCESS_LOG,
            {"nin": NIN, "first": "abc"},
            "Variable '$first' has invalid value: Int cannot represent non-integer value.",
        ),
        (
            ACCESS_LOG,
            {"nin": NIN, "first": int(NIN)},
            "Variable '$first' has invalid value: "
            "Int cannot represent non 32-bit signed integer value.",
        ),
        (
            REGISTER,
            {"nin": NIN, "input": {**TREATMENT, "treatment": NIN}},
            "Variable '$input' has invalid value at .treatment: "
            "Value does not exist in 'OngoingTreatmentType' enum.",
        ),
        (
            REGISTER,
            {"nin": NIN, "input": {**TREATMENT, "startedOn": NIN}},
            "Variable '$input' has invalid value at .startedOn: Value cannot represent a Date.",
        ),
        (
            REGISTER,
            {"nin": NIN, "input": {**TREATMENT, "note": int(NIN)}},
            "Variable '$input' has invalid value at .note: "
            "String cannot represent a non string value.",
        ),
        (
            REGISTER,
            {"nin": NIN, "input": NIN},
            "Variable '$input' has invalid value: "
            "Expected value of type 'OngoingTreatmentInput' to be an object.",
        ),
        (
            REGISTER,
            {"nin": NIN, "input": {**TREATMENT, "pasient": NIN}},
            "Variable '$input' has invalid value: Expected value of type "
            "'OngoingTreatmentInput' not to include unknown field 'pasient'.",
        ),
        (
            REGISTER,
            {"nin": NIN, "input": {**TREATMENT, NIN: 1}},
            "Variable '$input' has invalid value: "
            "Expected value of type 'OngoingTreatmentInput' not to include unknown field.",
        ),
    ],
)
async def test_a_variable_that_cannot_be_coerced_is_bad_user_input_without_its_value(
    runner: SchemaRunner,
    caplog: pytest.LogCaptureFixture,
    query: str,
    variables: dict[str, Any] | None,
    message: str,
) -> None:
    with caplog.at_level(logging.DEBUG):
        result = await runner.execute(query, variables)
    assert result["data"] is None
    assert [error["message"] for error in result["errors"]] == [message]
    assert [error["extensions"] for error in result["errors"]] == [{"code": "BAD_USER_INPUT"}]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert NIN not in caplog.text, "the value is never logged"


async def test_each_broken_variable_is_reported_by_graphql_core(runner: SchemaRunner) -> None:
    # The required field missing and the unknown one, in one input object: two errors.
    broken = {"treatmen": "DIALYSIS", "note": "Dialyse", "startedOn": "2026-10-01"}
    result = await runner.execute(REGISTER, {"nin": NIN, "input": broken})
    assert result["data"] is None
    assert [error["message"] for error in result["errors"]] == [
        "Variable '$input' has invalid value: Expected value of type 'OngoingTreatmentInput' "
        "to include required field 'treatment'.",
        "Variable '$input' has invalid value: Expected value of type 'OngoingTreatmentInput' "
        "not to include unknown field 'treatmen'. Did you mean 'treatment'?",
    ]
    assert {error["extensions"]["code"] for error in result["errors"]} == {"BAD_USER_INPUT"}
