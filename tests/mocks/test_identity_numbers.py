"""The mocks' identity numbers, judged by a table of known numbers and by the gateway's parser.

Neither implementation is the other's only oracle: the table (``DOMAIN.md`` §4's examples, the
check digits worked by hand below) judges both, and then every generated number must read the
same in both. Check digits (``DOMAIN.md`` §4), for digits d1..d9:
    k1 = 11 - (3·d1 + 7·d2 + 6·d3 + 1·d4 + 8·d5 + 9·d6 + 4·d7 + 5·d8 + 2·d9) mod 11
    k2 = 11 - (5·d1 + 4·d2 + 3·d3 + 2·d4 + 7·d5 + 6·d6 + 5·d7 + 4·d8 + 3·d9 + 2·k1) mod 11
where 11 becomes 0 and 10 means no number exists.
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from gateway import identity
from gateway.identity import IdentityNumberKind
from mocks import FIXTURES
from mocks.identity_numbers import (
    SYSTEM_D_NUMBER,
    SYSTEM_FODSELSNUMMER,
    check_digits,
    read,
    synthetic_number,
)
from mocks.numbering import NumberPlan
from mocks.population import Population

MOCKS = Path(__file__).resolve().parents[2] / "mocks"

# (number, birth date, individual number, D-number)
VALID = [
    # 158285123: k1 = 3+35+48+2+64+45+4+10+6 = 217, 217 mod 11 = 8, 11-8 = 3;
    #            k2 = 5+20+24+4+56+30+5+8+9+2·3 = 167, 167 mod 11 = 2, 11-2 = 9.
    ("15828512339", dt.date(1985, 2, 15), 123, False),
    # 018190420: k1 = 0+7+48+1+72+0+16+10+0 = 154 = 14·11, 11-0 = 11 -> 0;
    #            k2 = 0+4+24+2+63+0+20+8+0+2·0 = 121 = 11·11 -> 0.
    ("01819042000", dt.date(1990, 1, 1), 420, False),
    # Individual number 555 with year 17: born 2017. 248817555: k1 = 6+28+48+8+8+63+20+25+10
    # = 216, mod 11 = 7, 11-7 = 4; k2 = 10+16+24+16+7+42+25+20+15+2·4 = 183, mod 11 = 7, 4.
    ("24881755544", dt.date(2017, 8, 24), 555, False),
    # 298296457: k1 = 6+63+48+2+72+54+16+25+14 = 300, mod 11 = 3, 11-3 = 8;
    #            k2 = 10+36+24+4+63+36+20+20+21+2·8 = 250, mod 11 = 8, 11-8 = 3.
    ("29829645783", dt.date(1996, 2, 29), 457, False),
    # A D-number (day 15 + 40). 558270100: k1 = 15+35+48+2+56+0+4+0+0 = 160, mod 11 = 6, 5;
    #            k2 = 25+20+24+4+49+0+5+0+0+2·5 = 137, mod 11 = 5, 11-5 = 6.
    ("55827010056", dt.date(1970, 2, 15), 100, True),
]

# Each is a valid number above with one check digit changed, or digits that have no check digits.
INVALID = [
    "15828512338",  # k2 9 -> 8
    "15828512349",  # k1 3 -> 4 (k2 no longer fits)
    "01819042001",  # k2 0 -> 1
    "24881755554",  # k1 4 -> 5
    "29829645780",  # k2 3 -> 0
    "55827010066",  # the D-number's k1 5 -> 6
    "55827010057",  # the D-number's k2 6 -> 7
    # 018185104: k1 = 0+7+48+1+64+45+4+0+8 = 177, mod 11 = 1, 11-1 = 10: no classic number, and
    # with k1 = 0 the second check digit would be 10 as well (0+4+24+2+56+30+5+0+12+0 = 133,
    # mod 11 = 1), so no number under the 2032 rule either.
    "01818510400",
    "1582851233",  # ten digits
    "15828512339 ",  # something around the digits
    "1582851233x",
]


@pytest.mark.parametrize(("nin", "birth", "individual", "d_number"), VALID)
def test_known_valid_numbers_read_the_same_in_the_mocks_and_the_gateway(
    nin: str, birth: dt.date, individual: int, d_number: bool
) -> None:
    assert check_digits(nin[:9]) == nin[9:]
    found = read(nin)
    assert found is not None
    assert (found.birth_date, found.individual, found.d_number) == (birth, individual, d_number)
    assert found.system == (SYSTEM_D_NUMBER if d_number else SYSTEM_FODSELSNUMMER)
    parsed = identity.parse(nin)
    assert parsed.synthetic
    assert parsed.birth_date == birth
    assert parsed.kind is (
        IdentityNumberKind.D_NUMBER if d_number else IdentityNumberKind.FODSELSNUMMER
    )
    assert parsed.fhir_system == found.system


@pytest.mark.parametrize(("nin", "birth", "individual", "d_number"), VALID)
def test_the_mocks_write_the_known_numbers(
    nin: str, birth: dt.date, individual: int, d_number: bool
) -> None:
    assert synthetic_number(birth, individual, d_number=d_number) == nin


@pytest.mark.parametrize("nin", INVALID)
def test_known_invalid_numbers_are_refused_by_both(nin: str) -> None:
    assert read(nin) is None
    assert not identity.is_valid(nin)


def test_digits_without_check_digits_give_no_number() -> None:
    assert check_digits("018185104") is None  # k1 would be 10 (see INVALID)
    # 018185108: k1 = 0+7+48+1+64+45+4+0+16 = 185, mod 11 = 9, 11-9 = 2; k2 = 0+4+24+2+56+30+5
    # +0+24+2·2 = 149, mod 11 = 6, 11-6 = 5: a number exists.
    assert check_digits("018185108") == "25"
    assert synthetic_number(dt.date(1985, 1, 1), 104) is None
    with pytest.raises(identity.InvalidIdentityNumber):
        identity.check_digits("018185104")


def test_a_number_valid_only_under_the_2032_rule_is_the_gateways_alone() -> None:
    # 018185117: the classic k1 would be 10 (0+7+48+1+64+45+4+5+14 = 188, mod 11 = 1). From 2032
    # k1 = 0 is accepted (remainder 1 over d1..d9,k1), and k2 = 11 - (0+4+24+2+56+30+5+4+21+0 =
    # 146, mod 11 = 3) = 8. The gateway must accept it; the mocks never make one.
    assert identity.parse("01818511708").synthetic
    assert read("01818511708") is None


def test_h_numbers_and_real_numbers_are_not_mock_numbers() -> None:
    # Month 01, not synthetic. 010185123: k1 = 0+7+0+1+64+45+4+10+6 = 137, mod 11 = 5, 11-5 = 6;
    # k2 = 0+4+0+2+56+30+5+8+9+2·6 = 126, mod 11 = 5, 11-5 = 6.
    real = "01018512366"
    assert identity.parse(real).synthetic is False
    assert read(real) is None
    # Month 01 + 40: an H-number. 014185123: k1 = 0+7+24+1+64+45+4+10+6 = 161, mod 11 = 7, 4;
    # k2 = 0+4+12+2+56+30+5+8+9+2·4 = 134, mod 11 = 2, 11-2 = 9.
    h_number = "01418512349"
    assert identity.parse(h_number).kind is IdentityNumberKind.H_NUMBER
    assert read(h_number) is None


def test_check_digits_agree_over_a_range_of_synthetic_digits() -> None:
    disagreements = []
    start = dt.date(1999, 1, 1)
    for day in range(0, 800, 3):
        birth = start + dt.timedelta(days=day)
        for individual in range(0, 1000, 37):
            year = birth.year % 100
            first_nine = f"{birth.day + 40:02d}{birth.month + 80:02d}{year:02d}{individual:03d}"
            try:
                theirs: str | None = identity.check_digits(first_nine)
            except identity.InvalidIdentityNumber:
                theirs = None
            if check_digits(first_nine) != theirs:
                disagreements.append(first_nine)
    assert disagreements == []


def _numbers() -> list[str]:
    """The default population (what the demo and the tests serve), the fixtures, and a larger
    population of another seed, for more D-numbers and birth dates."""
    population = Population()
    other = NumberPlan(7, 20_000, reserved={f.nin for f in FIXTURES})
    return [
        *(population.nin(i) for i in range(population.size)),
        *(f.nin for f in FIXTURES),
        *(other.nin(i) for i in range(20_000)),
    ]


def test_every_generated_number_reads_the_same_in_the_mocks_and_the_gateway() -> None:
    kinds = set()
    for nin in _numbers():
        found = read(nin)
        parsed = identity.parse(nin)
        assert found is not None
        assert parsed.synthetic
        assert found.birth_date == parsed.birth_date
        assert found.d_number == (parsed.kind is IdentityNumberKind.D_NUMBER)
        assert found.system == parsed.fhir_system
        kinds.add(found.d_number)
    assert kinds == {False, True}  # both kinds of number were cross-checked


def test_the_mocks_import_nothing_from_the_gateway() -> None:
    importers = []
    for path in sorted(MOCKS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if any(name == "gateway" or name.startswith("gateway.") for name in names):
                importers.append(path.name)
    assert importers == []
