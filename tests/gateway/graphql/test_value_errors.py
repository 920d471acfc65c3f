"""graphql-core's messages about values keep their words and lose the value."""

from __future__ import annotations

import pytest

from gateway.graphql.value_errors import safe_variable_message, without_value

NIN = "12834122055"


@pytest.mark.parametrize(
    ("message", "safe"),
    [
        (
            f"Expected value of type 'PatientInput', found: {{ nin: \"{NIN}\" }}.",
            "Expected value of type 'PatientInput'.",
        ),
        (
            f"Expected value of type 'Code!', but encountered error 'bad {NIN}'; found: '{NIN}'.",
            "Expected value of type 'Code!'.",
        ),
        (
            "Expected value of type 'In' to include required field 'note', "
            f"found: {{'a': '{NIN}'}}.",
            "Expected value of type 'In' to include required field 'note'.",
        ),
        (
            "Expected value of type 'In' not to include unknown field 'nin', "
            f"found: {{'nin': {NIN}}}.",
            "Expected value of type 'In' not to include unknown field 'nin'.",
        ),
        (
            f"Int cannot represent non-integer value: '{NIN}\nx'",
            "Int cannot represent non-integer value.",
        ),
        (f"ID cannot represent value: {NIN}", "ID cannot represent value."),
        (
            f"Enum 'Kind' cannot represent non-string value: {NIN}.",
            "Enum 'Kind' cannot represent non-string value.",
        ),
        (
            f"Value '{NIN}' does not exist in 'Kind' enum. Did you mean the enum value 'A'?",
            "Value does not exist in 'Kind' enum. Did you mean the enum value 'A'?",
        ),
        (
            f"Value cannot represent a DateTime: \"{NIN}\". Invalid isoformat string: '{NIN}'",
            "Value cannot represent a DateTime.",
        ),
    ],
)
def test_a_known_shape_loses_its_value(message: str, safe: str) -> None:
    assert without_value(message) == safe


def test_a_message_that_quotes_no_value_is_not_a_known_shape() -> None:
    assert without_value("Cannot query field 'patinet' on type 'Query'.") is None


def test_a_variable_error_of_an_unknown_shape_keeps_only_its_prefix() -> None:
    message = f"Variable '$input' has invalid value at .entries[2].note: odd {NIN} here"
    assert (
        safe_variable_message(message) == "Variable '$input' has invalid value at .entries[2].note."
    )
    assert safe_variable_message(f"something else about {NIN}") == (
        "A variable has an invalid value."
    )
