"""The one rule for identity numbers in client-chosen strings."""

from __future__ import annotations

import pytest

from gateway.ops.masking import (
    holds_identity_number,
    holds_valid_identity_number,
    mask_identity_numbers,
)
from gateway.ops.metrics import operation_label

NIN = "12834122055"  # a synthetic test person's number (valid check digits)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"nin_{NIN}", "nin_[11 digits]"),
        (f"{NIN}0", "[11 digits]"),  # longer runs too: the number may hide inside
        (f"a{NIN}b{NIN}", "a[11 digits]b[11 digits]"),
        ("org 974589095 on 20261126", "org 974589095 on 20261126"),
    ],
)
def test_runs_of_eleven_or_more_digits_are_masked_and_shorter_numbers_stay(
    text: str, masked: str
) -> None:
    assert mask_identity_numbers(text) == masked
    assert holds_identity_number(text) == (text != masked)


def test_a_trace_id_is_dropped_only_for_a_run_with_valid_check_digits() -> None:
    assert holds_valid_identity_number(f"00-ab{NIN}0000000000000000000-00f067aa0ba902b7-01")
    assert holds_valid_identity_number(f"7{NIN}3")  # inside a longer run
    # Eleven digits in a random hex id are common; without valid check digits they stay.
    assert not holds_valid_identity_number("00-12834122056abcdef0123456789abcd-00f067aa0ba902b7-01")


@pytest.mark.parametrize("name", [f"nin_{NIN}", f"Patient{NIN}1", "x" * 65, "a b", "Q\n"])
def test_an_operation_name_holding_a_number_or_not_graphql_shaped_is_other(name: str) -> None:
    assert operation_label(name) == "other"


def test_a_plain_operation_name_is_its_own_label() -> None:
    assert operation_label("PatientSummary") == "PatientSummary"
    assert operation_label(None) == "anonymous"
