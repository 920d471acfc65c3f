"""Identity numbers: every kind that exists passes, everything else fails with a reason."""

from __future__ import annotations

import pytest

from gateway.identity import (
    K1_WEIGHTS,
    K2_WEIGHTS,
    IdentityNumberKind,
    InvalidIdentityNumber,
    check_digits,
    is_valid,
    parse,
)

SYNTHETIC = ["15828512339", "01819042000", "24881755544", "29829645783"]
SYNTHETIC_D_NUMBER = "55827010056"


def _with_check_digits(date_digits: str) -> str:
    """The first number with these six date digits for which classic check digits exist."""
    for individual in range(100, 1000):
        try:
            return f"{date_digits}{individual}" + check_digits(f"{date_digits}{individual}")
        except InvalidIdentityNumber:
            continue
    raise AssertionError("no individual number fits")


def _remainder(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11


def _new_rule_number(date_digits: str, k1_remainder: int) -> str:
    """A number whose k1 leaves this weighted remainder (1-3: valid only under the 2032 rule)."""
    for individual in range(100, 1000):
        first_nine = f"{date_digits}{individual}"
        for k1 in range(10):
            if _remainder(first_nine + str(k1), K1_WEIGHTS) != k1_remainder:
                continue
            for k2 in range(10):
                candidate = f"{first_nine}{k1}{k2}"
                if _remainder(candidate, K2_WEIGHTS) == 0:
                    return candidate
    raise AssertionError("no such number for these digits")


@pytest.mark.parametrize("nin", SYNTHETIC)
def test_documented_synthetic_numbers_are_valid_fodselsnummer(nin: str) -> None:
    parsed = parse(nin)
    assert parsed.kind is IdentityNumberKind.FODSELSNUMMER
    assert parsed.synthetic


def test_synthetic_number_encodes_birth_date_with_month_minus_80() -> None:
    assert parse("15828512339").birth_date.isoformat() == "1985-02-15"
    assert parse("29829645783").birth_date.isoformat() == "1996-02-29"  # a leap day


def test_d_number_is_recognised_and_day_minus_40() -> None:
    parsed = parse(SYNTHETIC_D_NUMBER)
    assert parsed.kind is IdentityNumberKind.D_NUMBER
    assert parsed.birth_date.day == 15
    assert parsed.fhir_system == "urn:oid:2.16.578.1.12.4.1.4.2"


def test_ordinary_fodselsnummer_without_synthetic_month_is_valid() -> None:
    nin = _with_check_digits("010190")
    parsed = parse(nin)
    assert not parsed.synthetic
    assert parsed.fhir_token == f"urn:oid:2.16.578.1.12.4.1.4.1|{nin}"


def test_h_number_is_recognised_by_month_plus_40() -> None:
    parsed = parse(_with_check_digits("014590"))
    assert parsed.kind is IdentityNumberKind.H_NUMBER
    assert parsed.birth_date.month == 5
    assert parsed.fhir_system == "urn:oid:2.16.578.1.12.4.1.4.3"


@pytest.mark.parametrize("k1_remainder", [1, 2, 3])
def test_2032_rule_numbers_with_k1_remainder_1_to_3_are_valid(k1_remainder: int) -> None:
    nin = _new_rule_number("150185", k1_remainder)
    assert _remainder(nin[:10], K1_WEIGHTS) == k1_remainder  # not valid under the old rule
    assert is_valid(nin)


def test_k1_remainder_4_is_invalid_under_both_rules() -> None:
    assert not is_valid(_new_rule_number("150185", 4))


@pytest.mark.parametrize("nin", [*SYNTHETIC, SYNTHETIC_D_NUMBER])
def test_every_single_digit_change_is_rejected(nin: str) -> None:
    for position in range(11):
        for digit in "0123456789":
            if digit == nin[position]:
                continue
            changed = nin[:position] + digit + nin[position + 1 :]
            assert not is_valid(changed), f"position {position} -> {digit} accepted"


@pytest.mark.parametrize("nin", [*SYNTHETIC, SYNTHETIC_D_NUMBER])
def test_every_adjacent_transposition_is_rejected(nin: str) -> None:
    for position in range(10):
        a, b = nin[position], nin[position + 1]
        if a == b:
            continue
        swapped = nin[:position] + b + a + nin[position + 2 :]
        assert not is_valid(swapped), f"swap at {position} accepted"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1582851233", "exactly 11 digits"),
        ("158285123390", "exactly 11 digits"),
        ("", "exactly 11 digits"),
        ("1582851233a", "digits only"),
        ("15828512-39", "digits only"),
        ("١٥٨٢٨٥١٢٣٣٩", "digits only"),  # Arabic-Indic digits: isdigit() but not ASCII
    ],
)
def test_malformed_text_is_rejected_with_its_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidIdentityNumber, match=reason):
        parse(text)


@pytest.mark.parametrize(
    "date_digits", ["310285", "300285", "001085", "321085", "011385", "290285"]
)
def test_impossible_dates_are_rejected_even_with_valid_check_digits(date_digits: str) -> None:
    nin = _with_check_digits(date_digits)
    with pytest.raises(InvalidIdentityNumber, match="real birth date"):
        parse(nin)


def test_error_messages_never_contain_the_number() -> None:
    nin = "15828512338"
    with pytest.raises(InvalidIdentityNumber) as raised:
        parse(nin)
    assert nin not in str(raised.value)
