"""RFC 8785 canonical JSON, checked against the RFC's own examples."""

from __future__ import annotations

import json

import pytest

from gateway.ips.jcs import canonical_json


def test_the_rfc_8785_sample_object_canonicalizes_byte_for_byte() -> None:
    # RFC 8785 §3.2.2: numbers, escapes and literals; members sorted, whitespace dropped.
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(json.loads(source)) == expected.encode("utf-8")


@pytest.mark.parametrize(
    ("number", "written"),
    [
        (1.0, "1"),
        (-0.0, "0"),
        (100.0, "100"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (-1.5, "-1.5"),
        (5e-324, "5e-324"),
        (2**53 + 1, "9007199254740992"),
    ],
)
def test_numbers_are_written_as_ecmascript_writes_them(number: float, written: str) -> None:
    assert canonical_json(number) == written.encode()


def test_members_are_sorted_by_utf16_code_units() -> None:
    # U+1F600 is a surrogate pair (D83D …), which sorts before U+E000 in UTF-16 only.
    assert canonical_json({"\ue000": 2, "\U0001f600": 1, "a": 3}) == (
        '{"a":3,"\U0001f600":1,"\ue000":2}'.encode()
    )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), b"bytes", {1: "x"}, "\ud800"])
def test_what_json_cannot_hold_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"."):
        canonical_json(value)
