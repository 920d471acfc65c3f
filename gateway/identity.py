"""Norwegian national identity numbers: fødselsnummer, D-number, H-number, synthetic test numbers.

An 11-digit number ``DDMMYY`` + individual number ``iii`` + check digits ``k1 k2``.

* D-number: first digit + 4 (day 41-71).
* H-number: third digit + 4 (month 41-52).
* Synthetic test person (Skatteetaten's Tenor): month + 80 (month 81-92). A synthetic number
  never belongs to a real person, which is why every fixture uses one.

Check digits are validated under both rules that are in force: the classic rule, where the
weighted sum including ``k1`` is 0 mod 11, and the 2032 rule, which also accepts a remainder of
1, 2 or 3 for ``k1``. ``k2``'s rule is the same in both. python-stdnum is not used: it rejects
synthetic numbers, which every test environment in Norwegian e-health uses.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

_ELEVEN_DIGITS = re.compile(r"[0-9]{11}")
K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
K1_ACCEPTED_REMAINDERS = frozenset({0, 1, 2, 3})  # {0} before 2032; {0,1,2,3} from 2032 on

# The FHIR identifier systems (OIDs) for each kind of number.
OID_FODSELSNUMMER = "urn:oid:2.16.578.1.12.4.1.4.1"
OID_D_NUMBER = "urn:oid:2.16.578.1.12.4.1.4.2"
OID_H_NUMBER = "urn:oid:2.16.578.1.12.4.1.4.3"


class InvalidIdentityNumber(ValueError):
    """Not a valid Norwegian identity number; the message says why, never the number itself."""


class IdentityNumberKind(enum.Enum):
    """Which register issued the number."""

    FODSELSNUMMER = "FODSELSNUMMER"
    D_NUMBER = "D_NUMBER"
    H_NUMBER = "H_NUMBER"


@dataclass(frozen=True, slots=True)
class NationalIdentityNumber:
    """A validated identity number. ``str()`` gives the 11 digits."""

    value: str
    kind: IdentityNumberKind
    synthetic: bool
    birth_date: dt.date

    def __str__(self) -> str:
        return self.value

    @property
    def fhir_system(self) -> str:
        """The FHIR identifier system (OID) that registries use for this kind of number."""
        return {
            IdentityNumberKind.FODSELSNUMMER: OID_FODSELSNUMMER,
            IdentityNumberKind.D_NUMBER: OID_D_NUMBER,
            IdentityNumberKind.H_NUMBER: OID_H_NUMBER,
        }[self.kind]

    @property
    def fhir_token(self) -> str:
        """``system|value``, as used in FHIR token search parameters."""
        return f"{self.fhir_system}|{self.value}"


def _weighted_remainder(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11


def check_digits(first_nine: str) -> str:
    """The classic-rule check digits for nine digits; raises when the number cannot exist (k=10)."""
    if len(first_nine) != 9 or not first_nine.isdigit():
        raise InvalidIdentityNumber("nine digits are needed to compute check digits")
    k1 = (11 - _weighted_remainder(first_nine, K1_WEIGHTS[:9])) % 11
    if k1 == 10:
        raise InvalidIdentityNumber("no valid first check digit exists for these digits")
    k2 = (11 - _weighted_remainder(first_nine + str(k1), K2_WEIGHTS[:10])) % 11
    if k2 == 10:
        raise InvalidIdentityNumber("no valid second check digit exists for these digits")
    return f"{k1}{k2}"


def _birth_year(yy: int, individual: int) -> int:
    """The century rule from the individual number; where it says nothing, the likelier century."""
    if individual <= 499:
        return 1900 + yy
    if individual <= 749 and yy >= 54:
        return 1800 + yy
    if yy <= 39:
        return 2000 + yy
    return 1900 + yy


def parse(text: str) -> NationalIdentityNumber:
    """Validate ``text`` (exactly 11 ASCII digits: no spaces, nothing around them, so a number
    has one spelling) and say what kind of number it is."""
    value = text
    if len(value) != 11:
        raise InvalidIdentityNumber("an identity number has exactly 11 digits")
    if not _ELEVEN_DIGITS.fullmatch(value):
        raise InvalidIdentityNumber("an identity number has digits only")
    if _weighted_remainder(value[:10], K1_WEIGHTS) not in K1_ACCEPTED_REMAINDERS:
        raise InvalidIdentityNumber("the first check digit does not match")
    if _weighted_remainder(value, K2_WEIGHTS) != 0:
        raise InvalidIdentityNumber("the second check digit does not match")

    day, month, yy = int(value[0:2]), int(value[2:4]), int(value[4:6])
    kind = IdentityNumberKind.FODSELSNUMMER
    synthetic = False
    if day > 40:
        kind, day = IdentityNumberKind.D_NUMBER, day - 40
    if month > 80:
        synthetic, month = True, month - 80
    elif month > 40:
        if kind is IdentityNumberKind.D_NUMBER:
            raise InvalidIdentityNumber("a number cannot be both a D-number and an H-number")
        kind, month = IdentityNumberKind.H_NUMBER, month - 40
    year = _birth_year(yy, int(value[6:9]))
    try:
        birth_date = dt.date(year, month, day)
    except ValueError:
        raise InvalidIdentityNumber("the number does not hold a real birth date") from None
    return NationalIdentityNumber(value, kind, synthetic, birth_date)


def is_valid(text: str) -> bool:
    """True when ``parse`` accepts ``text``."""
    try:
        parse(text)
    except InvalidIdentityNumber:
        return False
    return True
