"""Checks on what a mutation's caller typed, each naming the field it refuses.

A refusal is ``BAD_USER_INPUT`` with ``extensions.field`` set to the input's path (for example
``input.phone``); it is raised before anything is logged as attempted or sent to a registry, so
nothing is written. Messages never echo the value: it may be a name, a phone number or a
diagnosis.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from gateway.access.hpr import canonical_hpr
from gateway.errors import BadUserInput

# Every pattern is applied with ``fullmatch``: ``re.match`` with ``$`` also matches before a final
# newline, so "9144901\n" would pass as an HPR number and never match the person it names.
# A phone number as typed: digits, groups separated by single spaces, optionally after a +.
_PHONE = re.compile(r"\+?[0-9]+(?: [0-9]+)*")
_PHONE_DIGITS = re.compile(r"\+?[0-9]{8,15}")
# ATC levels 3 to 5 (B01A, B01AC, B01AC06): a medicine or an allergen's substance group.
_ATC = re.compile(r"[A-Z][0-9]{2}[A-Z](?:[A-Z](?:[0-9]{2})?)?")
_ICD10 = re.compile(r"[A-Z][0-9]{2}(?:\.[0-9]{1,2})?")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_ENTRY_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_VERSION = re.compile(r"[0-9]{1,9}")
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{8,64}")
_CURSOR = re.compile(r"[0-9]{1,18}")
# Never part of free text: C0 and C1 controls, DEL, lone surrogates, the bidirectional
# overrides and isolates (they make a name read differently from what is stored), and the
# Unicode line and paragraph separators. A line feed or tab is allowed only in multi-line text.
_NEVER_IN_TEXT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
_LINE_BREAKS = re.compile("[\t\n]")


class InvalidInput(BadUserInput):
    """One input field is wrong; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"`{field}`: {message}")
        self.field = field

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field}


def text(
    field: str, value: str, max_length: int, *, min_length: int = 1, multiline: bool = False
) -> str:
    """Free text (a name, a note), in one form: surrounding whitespace is dropped (a stray
    space or final newline from a form is not part of what was meant), then it must be between
    the lengths and hold no control character. ``multiline`` text (a note, an explanation) may
    hold line feeds and tabs inside; a name may not."""
    stripped = value.strip()
    if multiline:
        stripped = stripped.replace("\r\n", "\n")
    if len(stripped) < min_length:
        raise InvalidInput(field, "must not be empty")
    if len(stripped) > max_length:
        raise InvalidInput(field, f"must be at most {max_length} characters")
    if _NEVER_IN_TEXT.search(stripped) or (not multiline and _LINE_BREAKS.search(stripped)):
        raise InvalidInput(field, "must not hold control characters")
    return stripped


def optional_text(
    field: str, value: str | None, max_length: int, *, multiline: bool = False
) -> str | None:
    """``text`` when given."""
    return None if value is None else text(field, value, max_length, multiline=multiline)


def past_date(field: str, value: dt.date | None, *, today: dt.date | None = None) -> dt.date | None:
    """A date that is not in the future (None passes)."""
    if value is None:
        return None
    if value > (today or dt.datetime.now(dt.UTC).date()):
        raise InvalidInput(field, "must not be in the future")
    if value.year < 1900:
        raise InvalidInput(field, "must be after 1900")
    return value


def phone(field: str, value: str) -> str:
    """A phone number: 8 to 15 digits, optionally after a +, in groups separated by single
    spaces (dropped: the number is stored without them)."""
    compact = value.replace(" ", "")
    if not _PHONE.fullmatch(value) or not _PHONE_DIGITS.fullmatch(compact):
        raise InvalidInput(field, "must be a phone number: 8 to 15 digits, optionally after +")
    return compact


def _pattern(field: str, value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(value):
        raise InvalidInput(field, f"must be {what}")
    return value


def atc_code(field: str, value: str) -> str:
    """An ATC code of level 3 to 5 (e.g. J01C, J01CE, J01CE02)."""
    return _pattern(field, value, _ATC, "an ATC code such as J01CE02")


def icd10_code(field: str, value: str) -> str:
    """An ICD-10 code (e.g. N18.5)."""
    return _pattern(field, value, _ICD10, "an ICD-10 code such as N18.5")


def hpr_number(field: str, value: str) -> str:
    """An HPR number (the health personnel register), in its one spelling: digits only, no
    leading zeros (``09144901`` is ``9144901``), seven to nine digits."""
    number = canonical_hpr(value)
    if number is None:
        raise InvalidInput(field, "must be an HPR number (7 to 9 digits)")
    return number


def language_code(field: str, value: str) -> str:
    """A BCP 47 primary language subtag (ISO 639: e.g. pl, ar, se)."""
    return _pattern(field, value, _LANGUAGE, "a language code such as pl or ar (ISO 639)")


def entry_id(field: str, value: str) -> str:
    """An entry's id as the registry gave it."""
    return _pattern(field, value, _ENTRY_ID, "an entry id as the summary gives it")


def version(field: str, value: str) -> str:
    """An entry's version as the summary gave it."""
    return _pattern(field, value, _VERSION, "the version the summary gave for the entry")


def idempotency_key(field: str, value: str) -> str:
    """A caller's idempotency key: 8 to 64 letters, digits, ``.``, ``_``, ``:`` or ``-``."""
    return _pattern(field, value, _IDEMPOTENCY_KEY, "8 to 64 letters, digits, '.', '_', ':' or '-'")


def cursor(field: str, value: str | None) -> int | None:
    """A page cursor an earlier page gave (a record's sequence number); None passes."""
    if value is None:
        return None
    return int(_pattern(field, value, _CURSOR, "a cursor returned by an earlier page"))
