"""FHIR R4 ``Dosage`` as one readable line, e.g. "1 tablet twice a day, oral, as needed".

A prescriber's own words (``Dosage.text``) are always preferred. Many systems (Synthea, most
US Core servers) send only the structured parts; those are rendered from what is there and
nothing else: a part the source did not send is left out, never assumed (a dose without a unit
stays a bare number). Only a ``Dosage`` with nothing readable in it gives None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.upstream.fhir import first, text

_UNITS = {
    "s": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "d": ("day", "days"),
    "wk": ("week", "weeks"),
    "mo": ("month", "months"),
    "a": ("year", "years"),
}

# HL7 v3 GTSAbbreviation codes (the R4 ``Timing.code`` value set), for a timing sent as a code.
_TIMING_CODES = {
    "QD": "once a day",
    "BID": "twice a day",
    "TID": "3 times a day",
    "QID": "4 times a day",
    "QOD": "every other day",
    "AM": "every morning",
    "PM": "every afternoon",
    "Q1H": "every hour",
    "Q2H": "every 2 hours",
    "Q3H": "every 3 hours",
    "Q4H": "every 4 hours",
    "Q6H": "every 6 hours",
    "Q8H": "every 8 hours",
    "WK": "once a week",
    "MO": "once a month",
}

# R4 EventTiming codes (``Timing.repeat.when``) a reader needs in words.
_WHEN = {
    "MORN": "in the morning",
    "AFT": "in the afternoon",
    "EVE": "in the evening",
    "NIGHT": "at night",
    "PHS": "after sleep",
    "HS": "at bedtime",
    "WAKE": "on waking",
    "C": "with a meal",
    "CM": "with breakfast",
    "CD": "with lunch",
    "CV": "with dinner",
    "AC": "before meals",
    "ACM": "before breakfast",
    "ACD": "before lunch",
    "ACV": "before dinner",
    "PC": "after meals",
    "PCM": "after breakfast",
    "PCD": "after lunch",
    "PCV": "after dinner",
}


def render_dosages(dosages: Any) -> str | None:
    """``MedicationRequest.dosageInstruction`` (or a dispensing's) as text: each instruction's
    line, joined with "; " in the source's order; None when there is nothing to say."""
    if not isinstance(dosages, list):
        return None
    lines = [line for d in dosages if (line := render_dosage(d)) is not None]
    return "; ".join(lines) or None


def render_dosage(dosage: Any) -> str | None:
    """One ``Dosage``: its ``text`` when written, else its structured parts in words."""
    if not isinstance(dosage, Mapping):
        return None
    written = text(dosage.get("text"))
    if written is not None:
        return written.strip() or None
    head = " ".join(p for p in (_dose(dosage), _timing(dosage.get("timing"))) if p)
    parts = [
        head,
        _concept_text(dosage.get("route")),
        _as_needed(dosage),
        _max_dose(dosage.get("maxDosePerPeriod")),
        _bounds(dosage.get("timing")),
        *(_concept_text(c) for c in _list(dosage.get("additionalInstruction"))),
        text(dosage.get("patientInstruction")),
    ]
    return ", ".join(p for p in parts if p) or None


def _dose(dosage: Mapping[str, Any]) -> str | None:
    dose_and_rate = first(dosage.get("doseAndRate"))
    amount = _quantity(dose_and_rate.get("doseQuantity"))
    if amount is not None:
        return amount
    dose_range = dose_and_rate.get("doseRange")
    if not isinstance(dose_range, Mapping):
        return None
    low, high = _as_mapping(dose_range.get("low")), _as_mapping(dose_range.get("high"))
    low_value, high_value = _number(low.get("value")), _number(high.get("value"))
    unit = _unit(high) or _unit(low)
    if low_value is not None and high_value is not None:
        amount = f"{low_value} to {high_value}"
    elif high_value is not None:
        amount = f"up to {high_value}"
    elif low_value is not None:
        amount = f"at least {low_value}"
    else:
        return None
    return f"{amount} {unit}" if unit else amount


def _timing(timing: Any) -> str | None:
    timing = _as_mapping(timing)
    repeat = _as_mapping(timing.get("repeat"))
    words = [
        _frequency(repeat),
        *(_WHEN.get(w) or None for w in _list(repeat.get("when")) if isinstance(w, str)),
        _days(repeat.get("dayOfWeek")),
        _times(repeat.get("timeOfDay")),
    ]
    rendered = " ".join(w for w in words if w)
    if rendered:
        return rendered
    code = _as_mapping(timing.get("code"))
    if not code:
        return None
    written = text(code.get("text"))
    if written:
        return written
    for coding in _list(code.get("coding")):
        if isinstance(coding, Mapping):
            known = _TIMING_CODES.get(str(coding.get("code")))
            if known:
                return known
    return _concept_text(code)


def _frequency(repeat: Mapping[str, Any]) -> str | None:
    frequency = _number(repeat.get("frequency"))
    frequency_max = _number(repeat.get("frequencyMax"))
    period = _number(repeat.get("period"))
    period_max = _number(repeat.get("periodMax"))
    unit = _UNITS.get(str(repeat.get("periodUnit")))
    if period is None or unit is None:
        return _times_count(frequency, frequency_max) if frequency is not None else None
    if period_max is not None:
        span = f"every {period} to {period_max} {unit[1]}"
    elif period == "1":
        span = f"an {unit[0]}" if unit[0] == "hour" else f"a {unit[0]}"
    else:
        span = f"every {period} {unit[1]}"
    if (frequency in (None, "1")) and frequency_max is None:
        # "every 8 hours" rather than "once every 8 hours"; "once a day" reads as written.
        return span if span.startswith("every") else f"once {span}"
    return f"{_times_count(frequency or '1', frequency_max)} {span}"


def _times_count(frequency: str, frequency_max: str | None) -> str:
    if frequency_max is not None:
        return f"{frequency} to {frequency_max} times"
    return {"1": "once", "2": "twice"}.get(frequency, f"{frequency} times")


def _days(days: Any) -> str | None:
    names = [d for d in _list(days) if isinstance(d, str)]
    return f"on {', '.join(names)}" if names else None


def _times(times: Any) -> str | None:
    # FHIR time is hh:mm:ss; a reader wants hh:mm.
    names = [t[:5] for t in _list(times) if isinstance(t, str)]
    return f"at {', '.join(names)}" if names else None


def _bounds(timing: Any) -> str | None:
    repeat = _as_mapping(_as_mapping(timing).get("repeat"))
    duration = _as_mapping(repeat.get("boundsDuration"))
    if duration:
        value = _number(duration.get("value"))
        unit = _UNITS.get(str(duration.get("code"))) or _UNITS.get(str(duration.get("unit")))
        if value is not None and unit is not None:
            return f"for {value} {unit[0] if value == '1' else unit[1]}"
        written = _quantity(duration)
        return f"for {written}" if written else None
    period = _as_mapping(repeat.get("boundsPeriod"))
    start, end = text(period.get("start")), text(period.get("end"))
    # Dates as the source wrote them (a day, or the day of an instant): no precision is added.
    start, end = start and start[:10], end and end[:10]
    if start and end:
        return f"from {start} to {end}"
    if start:
        return f"from {start}"
    if end:
        return f"until {end}"
    return None


def _max_dose(ratio: Any) -> str | None:
    """``maxDosePerPeriod`` (a Ratio): "at most 4 g per day"."""
    ratio = _as_mapping(ratio)
    most = _quantity(ratio.get("numerator"))
    denominator = _as_mapping(ratio.get("denominator"))
    per = _number(denominator.get("value"))
    unit = _UNITS.get(str(denominator.get("code"))) or next(
        (u for u in _UNITS.values() if denominator.get("unit") in u), None
    )
    if most is None or per is None or unit is None:
        return None
    return f"at most {most} per {unit[0]}" if per == "1" else f"at most {most} per {per} {unit[1]}"


def _as_needed(dosage: Mapping[str, Any]) -> str | None:
    reason = _concept_text(dosage.get("asNeededCodeableConcept"))
    if reason:
        return f"as needed for {reason}"
    return "as needed" if dosage.get("asNeededBoolean") is True else None


def _concept_text(concept: Any) -> str | None:
    concept = _as_mapping(concept)
    written = text(concept.get("text"))
    if written:
        return written
    for coding in _list(concept.get("coding")):
        if isinstance(coding, Mapping) and text(coding.get("display")):
            return text(coding.get("display"))
    return None


def _quantity(value: Any) -> str | None:
    value = _as_mapping(value)
    number = _number(value.get("value"))
    if number is None:
        return None
    unit = _unit(value)
    return f"{number} {unit}" if unit else number


def _unit(value: Mapping[str, Any]) -> str | None:
    return text(value.get("unit")) or text(value.get("code"))


def _number(value: Any) -> str | None:
    """A FHIR decimal as a person writes it: 1.0 → "1", 0.5 → "0.5"."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else ()
