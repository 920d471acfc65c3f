"""Synthetic identity numbers for the mock registries, written and read here, not with
``gateway.identity``.

The gateway's number code is under test: if the mocks made their numbers with it, a check-digit
bug there would make numbers the buggy parser accepts, and no test could see it. So the mocks
spell the rule out again from its source (Skatteetaten; ``DOMAIN.md`` §4), and tests check both
against a table of known numbers and against each other.

Only what the mocks hand out is covered: synthetic (Tenor) numbers, month + 80, as
fødselsnummer or D-number (day + 40), with classic-rule check digits. H-numbers and numbers under
the 2032 rule are never generated, so reading them gives None (no mock patient has one).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_SYNTHETIC_MONTH = 80
_D_NUMBER_DAY = 40

# The FHIR identifier systems the mock registries write beside a number.
SYSTEM_FODSELSNUMMER = "urn:oid:2.16.578.1.12.4.1.4.1"
SYSTEM_D_NUMBER = "urn:oid:2.16.578.1.12.4.1.4.2"


def _check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    """11 - (weighted sum mod 11), where 11 becomes 0 and 10 means no digit exists."""
    digit = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    if digit == 11:
        return 0
    return None if digit == 10 else digit


def check_digits(first_nine: str) -> str | None:
    """``k1 k2`` for nine digits, or None when either would be 10 (no such number exists)."""
    if len(first_nine) != 9 or not first_nine.isdigit():
        raise ValueError("nine digits are needed to compute check digits")
    k1 = _check_digit(first_nine, _K1_WEIGHTS)
    if k1 is None:
        return None
    k2 = _check_digit(f"{first_nine}{k1}", _K2_WEIGHTS)
    return None if k2 is None else f"{k1}{k2}"


def _century(individual: int) -> int:
    # The mocks give 000-499 to births in the 1900s and 500-999 to births from 2000 on: the
    # part of Skatteetaten's century rule their birth dates (1921 onwards) need.
    return 1900 if individual < 500 else 2000


def synthetic_number(birth_date: dt.date, individual: int, *, d_number: bool = False) -> str | None:
    """The synthetic number of someone born on ``birth_date`` with individual number
    ``individual`` (000-499 before 2000, 500-999 from 2000 on), or None when its check digits
    do not exist."""
    if not 0 <= individual <= 999 or _century(individual) != birth_date.year // 100 * 100:
        raise ValueError("the individual number does not fit the birth year")
    day = birth_date.day + (_D_NUMBER_DAY if d_number else 0)
    month = birth_date.month + _SYNTHETIC_MONTH
    first_nine = f"{day:02d}{month:02d}{birth_date.year % 100:02d}{individual:03d}"
    digits = check_digits(first_nine)
    return None if digits is None else first_nine + digits


@dataclass(frozen=True, slots=True)
class SyntheticNumber:
    """A number as the mocks read it."""

    value: str
    birth_date: dt.date
    individual: int
    d_number: bool

    @property
    def system(self) -> str:
        """The FHIR identifier system a registry writes with this number."""
        return SYSTEM_D_NUMBER if self.d_number else SYSTEM_FODSELSNUMMER


def read(text: str) -> SyntheticNumber | None:
    """What ``text`` holds if the mocks could have made it: 11 digits, right check digits,
    synthetic, a real birth date; else None."""
    if len(text) != 11 or not text.isascii() or not text.isdigit():
        return None
    if check_digits(text[:9]) != text[9:]:
        return None
    day, month, yy, individual = int(text[0:2]), int(text[2:4]), int(text[4:6]), int(text[6:9])
    d_number = day > _D_NUMBER_DAY
    if d_number:
        day -= _D_NUMBER_DAY
    if month <= _SYNTHETIC_MONTH or (individual >= 500 and yy >= 40):
        return None  # not synthetic, or a birth year the mocks never give (20yy with yy >= 40)
    try:
        birth_date = dt.date(_century(individual) + yy, month - _SYNTHETIC_MONTH, day)
    except ValueError:
        return None
    return SyntheticNumber(text, birth_date, individual, d_number)


def number(text: str) -> SyntheticNumber:
    """``read`` for a number the mocks made themselves: one that does not read is a bug."""
    found = read(text)
    if found is None:
        raise ValueError("not a synthetic identity number the mocks could have made")
    return found
