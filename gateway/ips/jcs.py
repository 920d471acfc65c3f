"""The JSON Canonicalization Scheme (JCS, RFC 8785): one byte string for one JSON value.

A signature over JSON must be over bytes that a receiver can rebuild from the JSON it parsed, in
any language. JCS fixes each choice a serializer makes:

- objects: members sorted by their names as UTF-16 code units; no whitespace anywhere;
- strings: UTF-8, escaping only ``"``, ``\\`` and the controls below U+0020 (``\\b \\t \\n \\f
  \\r`` short, the others as lowercase ``\\u00xx``), which is exactly what orjson writes;
- numbers: IEEE 754 doubles written as ECMAScript's ``Number.prototype.toString`` writes them
  (``1.0`` is ``1``, ``1e30`` is ``1e+30``, ``0.000001`` is ``0.000001``, ``1e-7`` is ``1e-7``);
  NaN and the infinities are not JSON and are refused.

orjson alone (``OPT_SORT_KEYS``) differs from JCS on numbers (it writes ``1.0`` and ``1e30``),
which is why numbers are written here and orjson only writes strings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson

_EXACT_INTEGER = 2**53
"""Beyond this an integer is not exactly a double: JCS writes what the double holds."""


def canonical_json(value: Any) -> bytes:
    """``value`` (what a JSON parser returns: dicts, lists, strings, numbers, booleans, None)
    as its RFC 8785 canonical UTF-8 bytes. ``ValueError`` for what JSON cannot hold."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts).encode("utf-8")


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, Mapping):
        out.append("{")
        for index, name in enumerate(sorted(value, key=_utf16)):
            if index:
                out.append(",")
            out.append(_string(name))
            out.append(":")
            _write(value[name], out)
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        out.append(_scalar(value))


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(value) if abs(value) <= _EXACT_INTEGER else _number(float(value))
    if isinstance(value, float):
        return _number(value)
    raise ValueError(f"a {type(value).__name__} is not a JSON value")


def _utf16(name: Any) -> bytes:
    if not isinstance(name, str):
        raise ValueError("a JSON object's member names are strings")
    # Big-endian UTF-16 bytes compare as the code units do (RFC 8785 §3.2.3).
    return name.encode("utf-16-be", "surrogatepass")


def _string(value: str) -> str:
    try:
        return orjson.dumps(value).decode("utf-8")
    except orjson.JSONEncodeError as exc:  # a lone surrogate: not Unicode text
        raise ValueError("a string is not valid Unicode") from exc


def _number(value: float) -> str:
    """ECMAScript's Number::toString (ECMA-262 §6.1.6.1.20) of a finite double."""
    if not math.isfinite(value):
        raise ValueError("NaN and Infinity are not JSON numbers")
    if value == 0:
        return "0"  # -0 too
    sign = "-" if value < 0 else ""
    # repr() gives the shortest digits that read back as the same double, as ECMAScript does.
    _sign, digit_tuple, decimal_exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent = int(decimal_exponent) + len(digit_tuple) - len(digits)  # an int: it is finite
    # value = 0.<digits> times 10^point; in the standard's terms k = len(digits), n = point.
    k, point = len(digits), exponent + len(digits)
    if k <= point <= 21:
        return sign + digits + "0" * (point - k)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    power = point - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"
