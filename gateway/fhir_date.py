"""FHIR dates and dateTimes kept at the precision the source wrote them.

FHIR lets a ``date`` or ``dateTime`` be partial: ``"2010"`` (a year), ``"1974-12"`` (a month),
``"1974-12-24"`` (a day), or a full instant with a timezone. A patient who remembers "an allergic
reaction in December 1974" is recorded as ``"1974-12"``; turning that into 1974-12-01T00:00 would
invent a precision nobody had, and refusing it would lose a correct anaphylaxis allergy. So a
``FhirDateTime`` carries the text at its own precision, and an instant (its earliest moment) only
for sorting and filtering.

On the wire (the ``FhirDateTime`` scalar) a full dateTime is written exactly as the ``DateTime``
scalar writes a Python datetime (``isoformat()``), and a day as ``Date`` writes a date, so clients
that read full values see the same strings as before; partial values are written as FHIR does.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from typing import Any

# FHIR R4's dateTime regex, split into its parts (https://hl7.org/fhir/R4/datatypes.html#dateTime).
_FHIR_DATE_TIME = re.compile(
    r"(?P<year>[0-9]{4})"
    r"(-(?P<month>0[1-9]|1[0-2])"
    r"(-(?P<day>0[1-9]|[12][0-9]|3[01])"
    r"(?P<time>T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?"
    r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?"
)


class Precision(enum.IntEnum):
    """How much of a date the source wrote, coarsest first."""

    YEAR = 1
    MONTH = 2
    DAY = 3
    TIME = 4


@dataclass(frozen=True, slots=True)
class FhirDateTime:
    """A FHIR ``date`` or ``dateTime`` at the precision it was written with."""

    text: str
    """The value as it goes to clients: FHIR's own spelling, full instants in ISO 8601."""
    precision: Precision
    earliest: dt.datetime
    """The first instant the value can mean (midnight UTC for a date): for sorting and filters."""
    latest: dt.datetime
    """The first instant after the value (the next year, month or day; the instant itself)."""

    @classmethod
    def parse(cls, value: Any) -> FhirDateTime | None:
        """The value of a FHIR ``date``/``dateTime`` element, or None when it is absent.

        Raises ``ValueError``/``TypeError`` on something that is not a FHIR date at all (the
        source module turns that into SOURCE_BAD_RESPONSE); a partial date is not an error.
        """
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError("a FHIR date is not a string")
        match = _FHIR_DATE_TIME.fullmatch(value)
        if match is None:
            raise ValueError("not a FHIR date or dateTime")
        year = int(match["year"])
        if match["month"] is None:
            start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
            return cls(value, Precision.YEAR, start, start.replace(year=year + 1))
        month = int(match["month"])
        if match["day"] is None:
            start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
            following = (start + dt.timedelta(days=32)).replace(day=1)
            return cls(value, Precision.MONTH, start, following)
        day = dt.date(year, month, int(match["day"]))  # raises ValueError on 2023-02-30
        if match["time"] is None:
            start = dt.datetime.combine(day, dt.time(), dt.UTC)
            return cls(day.isoformat(), Precision.DAY, start, start + dt.timedelta(days=1))
        instant = dt.datetime.fromisoformat(value)
        return cls(instant.isoformat(), Precision.TIME, instant, instant)

    @classmethod
    def of(cls, instant: dt.datetime) -> FhirDateTime:
        """A full instant (with a timezone) as a ``FhirDateTime``."""
        if instant.tzinfo is None:
            raise ValueError("an instant needs a timezone")
        return cls(instant.isoformat(), Precision.TIME, instant, instant)

    @property
    def instant(self) -> dt.datetime | None:
        """The instant, when the source wrote one (not for a date or a partial date)."""
        return self.earliest if self.precision is Precision.TIME else None

    @property
    def date(self) -> dt.date | None:
        """The calendar day, when the source wrote at least a day."""
        return self.earliest.date() if self.precision >= Precision.DAY else None

    def __str__(self) -> str:
        return self.text


def sort_key(value: FhirDateTime | dt.datetime | dt.date | None) -> dt.datetime:
    """A key that orders dates of any precision and kind; undated sorts first (oldest)."""
    if value is None:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    if isinstance(value, FhirDateTime):
        return value.earliest
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(value, dt.time(), dt.UTC)
