"""FHIR dates at the precision the source wrote them (gateway/fhir_date.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.fhir_date import FhirDateTime, Precision, sort_key


@pytest.mark.parametrize(
    ("raw", "text", "precision", "earliest", "latest"),
    [
        ("2010", "2010", Precision.YEAR, "2010-01-01T00:00:00+00:00", "2011-01-01T00:00:00+00:00"),
        (
            "1974-12",
            "1974-12",
            Precision.MONTH,
            "1974-12-01T00:00:00+00:00",
            "1975-01-01T00:00:00+00:00",
        ),
        (
            "2024-02",
            "2024-02",
            Precision.MONTH,
            "2024-02-01T00:00:00+00:00",
            "2024-03-01T00:00:00+00:00",
        ),
        (
            "1974-12-24",
            "1974-12-24",
            Precision.DAY,
            "1974-12-24T00:00:00+00:00",
            "1974-12-25T00:00:00+00:00",
        ),
        (
            "2024-03-01T10:15:00+01:00",
            "2024-03-01T10:15:00+01:00",
            Precision.TIME,
            "2024-03-01T10:15:00+01:00",
            "2024-03-01T10:15:00+01:00",
        ),
        (
            "2024-03-01T09:15:00Z",
            "2024-03-01T09:15:00+00:00",
            Precision.TIME,
            "2024-03-01T09:15:00+00:00",
            "2024-03-01T09:15:00+00:00",
        ),
    ],
)
def test_every_precision_is_kept(
    raw: str, text: str, precision: Precision, earliest: str, latest: str
) -> None:
    value = FhirDateTime.parse(raw)
    assert value is not None
    assert (str(value), value.precision) == (text, precision)
    assert value.earliest == dt.datetime.fromisoformat(earliest)
    assert value.latest == dt.datetime.fromisoformat(latest)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "74",
        "1974-13",
        "1974-12-32",
        "2023-02-30",
        "2024-03-01T10:15",
        "2024-03-01T10:15:00",
        "2010\n",
        "2024-03-01 10:15:00+01:00",
    ],
)
def test_what_is_not_a_fhir_date_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        FhirDateTime.parse(raw)


def test_absent_is_none_and_a_number_is_a_type_error() -> None:
    assert FhirDateTime.parse(None) is None
    with pytest.raises(TypeError):
        FhirDateTime.parse(1974)


def test_partial_dates_sort_among_full_ones() -> None:
    values = [FhirDateTime.parse(v) for v in ("2010", "2009-12-31T23:00:00+00:00", "2010-06")]
    values.append(None)
    ordered = sorted(values, key=sort_key)
    assert [str(v) if v else None for v in ordered] == [
        None,
        "2009-12-31T23:00:00+00:00",
        "2010",
        "2010-06",
    ]


def test_instant_and_day_only_when_written() -> None:
    month = FhirDateTime.parse("1974-12")
    day = FhirDateTime.parse("1974-12-24")
    full = FhirDateTime.parse("2024-03-01T10:15:00+01:00")
    assert month is not None and day is not None and full is not None
    assert (month.instant, month.date) == (None, None)
    assert (day.instant, day.date) == (None, dt.date(1974, 12, 24))
    assert full.instant == dt.datetime.fromisoformat("2024-03-01T10:15:00+01:00")
