"""``Patient.medicationList``: one row per medicine, joining prescriptions and dispensings, with
the flags a home-care nurse acts on.

A medicine is its substance: the ATC code, so two products of one substance share a row. Without
an ATC code it is another code with its system (RxNorm, SNOMED CT…), else its name; an entry
with neither code nor name is a row of its own (a dispensing joins the row of the prescription it
was dispensed on), so two unnamed medicines are never merged. Each row names the entries it was
built from. The list is built from two searches of the prescription registry; when one failed,
every row says which part it lacks (``completeness``) and the flags that part would decide are
not claimed either way: a list built without dispensings never says "never dispensed".

Flags (a row has each at most once):

- DISPENSED_WITHOUT_VALID_PRESCRIPTION: a dispensing on no known prescription, or outside the
  prescription's validity period;
- PRESCRIBED_NEVER_DISPENSED: an active prescription with no dispensing on it;
- EXPIRING_SOON: an active prescription whose last valid day is within
  ``medication_expiry_warning_days`` (settings);
- DISPENSED_AFTER_WITHDRAWAL: a dispensing on a withdrawn prescription, after the withdrawal;
- DUPLICATE_ACTIVE_SUBSTANCE: two or more active prescriptions of the same ATC code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import strawberry

from gateway.fhir_date import FhirDateTime, Precision, sort_key
from gateway.graphql.context import Context
from gateway.graphql.section import Section, SourceName, section_fields
from gateway.identity import NationalIdentityNumber
from gateway.upstream.fan_out import Fetched, all_of
from resolvers import prescriptions
from resolvers.common import ATC_SYSTEM
from resolvers.parties import PartyKind
from resolvers.prescriptions import (
    Dispensing,
    Medication,
    Prescription,
    PrescriptionStatus,
)

SOURCE = SourceName.PRESCRIPTIONS


@strawberry.enum(description="Something about a medicine that a nurse should act on.")
class MedicationFlag(Enum):
    DISPENSED_WITHOUT_VALID_PRESCRIPTION = strawberry.enum_value(
        "DISPENSED_WITHOUT_VALID_PRESCRIPTION",
        description="Dispensed on no known prescription, or outside its validity period.",
    )
    PRESCRIBED_NEVER_DISPENSED = strawberry.enum_value(
        "PRESCRIBED_NEVER_DISPENSED",
        description="An active prescription has never been dispensed.",
    )
    EXPIRING_SOON = strawberry.enum_value(
        "EXPIRING_SOON",
        description="An active prescription expires within the configured number of days.",
    )
    DISPENSED_AFTER_WITHDRAWAL = strawberry.enum_value(
        "DISPENSED_AFTER_WITHDRAWAL",
        description="Dispensed on a prescription after it was withdrawn.",
    )
    DUPLICATE_ACTIVE_SUBSTANCE = strawberry.enum_value(
        "DUPLICATE_ACTIVE_SUBSTANCE",
        description="Two or more active prescriptions of the same substance (ATC code).",
    )


@strawberry.enum(description="What a row of the medication list was built from.")
class RowCompleteness(Enum):
    COMPLETE = strawberry.enum_value(
        "COMPLETE", description="Built from every prescription and dispensing."
    )
    WITHOUT_DISPENSINGS = strawberry.enum_value(
        "WITHOUT_DISPENSINGS",
        description="Dispensings could not be read: the last dispensing and the flags about "
        "dispensing are unknown, not absent.",
    )
    WITHOUT_PRESCRIPTIONS = strawberry.enum_value(
        "WITHOUT_PRESCRIPTIONS",
        description="Prescriptions could not be read: the row holds dispensings only, and the "
        "flags about prescriptions are unknown, not absent.",
    )
    PARTIAL = strawberry.enum_value(
        "PARTIAL", description="One of the searches stopped at the page cap: entries may lack."
    )


@strawberry.type(description="A withdrawn prescription of this medicine.")
class Withdrawal:
    prescription_id: strawberry.ID = strawberry.field(description="The prescription.")
    withdrawn_at: FhirDateTime | None = strawberry.field(description="When it was withdrawn.")
    reason: str | None = strawberry.field(description="Why.")


@strawberry.type(description="The last dispensing of this medicine.")
class LastDispensing:
    dispensing_id: strawberry.ID = strawberry.field(description="The dispensing.")
    dispensed_at: FhirDateTime | None = strawberry.field(description="When it was handed over.")
    amount: str | None = strawberry.field(description="How much, e.g. '100 tablett'.")
    pharmacy: str | None = strawberry.field(description="Which pharmacy.")


@strawberry.type(description="One medicine: its prescriptions and dispensings, joined.")
class MedicationRow:
    medication: Medication = strawberry.field(description="The medicine (newest entry's words).")
    active_prescriptions: list[Prescription] = strawberry.field(
        description="Prescriptions valid today, newest first."
    )
    last_dispensing: LastDispensing | None = strawberry.field(
        description="The newest dispensing; null when none (see completeness)."
    )
    withdrawals: list[Withdrawal] = strawberry.field(description="Withdrawn prescriptions.")
    flags: list[MedicationFlag] = strawberry.field(description="What to act on.")
    prescription_ids: list[strawberry.ID] = strawberry.field(
        description="Every prescription the row was built from."
    )
    dispensing_ids: list[strawberry.ID] = strawberry.field(
        description="Every dispensing the row was built from."
    )
    completeness: RowCompleteness = strawberry.field(description="What the row was built from.")


@strawberry.type(description="The medication list: one row per medicine (Reseptformidleren).")
class MedicationListSection(Section):
    _rows: strawberry.Private[list[MedicationRow] | None]
    _failure: strawberry.Private[Fetched[list[Prescription]]]
    expiry_warning_days: int = strawberry.field(
        description="EXPIRING_SOON means: expires within this many days."
    )

    @strawberry.field(
        description="One row per medicine, flagged rows first. Null (with the error at this "
        "path) when neither prescriptions nor dispensings could be read, or when withheld."
    )
    def rows(self) -> list[MedicationRow] | None:
        if self._rows is None:
            self._failure.unwrap()
        return self._rows


@dataclass(slots=True)
class _Medicine:
    prescriptions: list[Prescription]
    dispensings: list[Dispensing]


def _medicine_key(medication: Medication) -> str | None:
    """The medicine's identity: its ATC code, else another code with its system, else its name
    (None: the entry names no medicine)."""
    codes = [c for c in medication.codes if c.system and c.code]
    coded = next((c for c in codes if c.system == ATC_SYSTEM), codes[0] if codes else None)
    if coded is not None:
        return f"code:{coded.system}|{coded.code}"
    if medication.atc_code:  # a Medication made without its codings
        return f"code:{ATC_SYSTEM}|{medication.atc_code}"
    name = medication.product_name or medication.name
    return f"name:{name.strip().casefold()}" if name and name.strip() else None


def _first_day(value: FhirDateTime) -> dt.date:
    return value.earliest.date()


def _last_day(value: FhirDateTime) -> dt.date:
    """The last calendar day a value can mean: "2026-12" → 2026-12-31."""
    if value.precision is Precision.TIME:
        return value.earliest.date()
    return (value.latest - dt.timedelta(days=1)).date()


def _is_active(prescription: Prescription, today: dt.date) -> bool:
    if prescription.status is not PrescriptionStatus.ACTIVE:
        return False
    starts, ends = prescription.valid_from, prescription.valid_until
    return (starts is None or _first_day(starts) <= today) and (
        ends is None or _last_day(ends) >= today
    )


def _valid_when(prescription: Prescription, moment: FhirDateTime | None) -> bool:
    """Whether a dispensing at ``moment`` may have been within the validity period: only a
    moment wholly outside it (at its own precision) is invalid."""
    if moment is None:
        return True
    starts, ends = prescription.valid_from, prescription.valid_until
    return (starts is None or _last_day(moment) >= _first_day(starts)) and (
        ends is None or _first_day(moment) <= _last_day(ends)
    )


def _certainly_after(later: FhirDateTime, earlier: FhirDateTime) -> bool:
    """Whether ``later`` is after ``earlier`` whatever instants their precisions stand for."""
    return later.earliest > earlier.earliest and later.earliest >= earlier.latest


def _newest(items: Sequence[Dispensing]) -> Dispensing | None:
    dated = [d for d in items if d.dispensed_at is not None]
    return max(dated, key=lambda d: sort_key(d.dispensed_at)) if dated else None


def _flags(
    medicine: _Medicine,
    known: dict[str, Prescription],
    today: dt.date,
    warning_days: int,
    *,
    have_prescriptions: bool,
    have_dispensings: bool,
) -> list[MedicationFlag]:
    flags: list[MedicationFlag] = []
    active = [p for p in medicine.prescriptions if _is_active(p, today)]
    dispensed_on = {str(d.prescription_id) for d in medicine.dispensings if d.prescription_id}
    if have_prescriptions and have_dispensings:
        for dispensing in medicine.dispensings:
            on = known.get(str(dispensing.prescription_id)) if dispensing.prescription_id else None
            if on is None or not _valid_when(on, dispensing.dispensed_at):
                flags.append(MedicationFlag.DISPENSED_WITHOUT_VALID_PRESCRIPTION)
                break
        if any(str(p.id) not in dispensed_on for p in active):
            flags.append(MedicationFlag.PRESCRIBED_NEVER_DISPENSED)
    if have_prescriptions:
        horizon = today + dt.timedelta(days=warning_days)
        if any(p.valid_until is not None and _last_day(p.valid_until) <= horizon for p in active):
            flags.append(MedicationFlag.EXPIRING_SOON)
    if have_prescriptions and have_dispensings:
        for dispensing in medicine.dispensings:
            on = known.get(str(dispensing.prescription_id)) if dispensing.prescription_id else None
            if (
                on is not None
                and on.status is PrescriptionStatus.WITHDRAWN
                and on.withdrawn_at is not None
                and dispensing.dispensed_at is not None
                and _certainly_after(dispensing.dispensed_at, on.withdrawn_at)
            ):
                flags.append(MedicationFlag.DISPENSED_AFTER_WITHDRAWAL)
                break
    if have_prescriptions and len(active) >= 2 and medicine.prescriptions[0].medication.atc_code:
        flags.append(MedicationFlag.DUPLICATE_ACTIVE_SUBSTANCE)
    return flags


def _amount(dispensing: Dispensing) -> str | None:
    quantity = dispensing.quantity
    if quantity is None or quantity.value is None:
        return None
    value = int(quantity.value) if quantity.value.is_integer() else quantity.value
    return f"{value} {quantity.unit or ''}".strip()


def _pharmacy(dispensing: Dispensing) -> str | None:
    """The name of the dispensing organisation (a pharmacist, or a dispenser of unknown kind,
    is not called the pharmacy)."""
    return next(
        (
            d.name
            for d in dispensing.dispensed_by
            if d.kind is PartyKind.ORGANISATION and d.name is not None
        ),
        None,
    )


def build_rows(
    prescriptions_read: Sequence[Prescription] | None,
    dispensings_read: Sequence[Dispensing] | None,
    today: dt.date,
    warning_days: int,
    *,
    truncated: bool = False,
) -> list[MedicationRow] | None:
    """The rows, from what could be read (None: a search failed)."""
    if prescriptions_read is None and dispensings_read is None:
        return None
    have_prescriptions, have_dispensings = (
        prescriptions_read is not None,
        dispensings_read is not None,
    )
    if not have_dispensings:
        completeness = RowCompleteness.WITHOUT_DISPENSINGS
    elif not have_prescriptions:
        completeness = RowCompleteness.WITHOUT_PRESCRIPTIONS
    else:
        completeness = RowCompleteness.PARTIAL if truncated else RowCompleteness.COMPLETE
    medicines: dict[str, _Medicine] = {}
    prescription_keys: dict[str, str] = {}
    for prescription in prescriptions_read or ():
        key = _medicine_key(prescription.medication) or f"prescription:{prescription.id}"
        prescription_keys[str(prescription.id)] = key
        medicines.setdefault(key, _Medicine([], [])).prescriptions.append(prescription)
    for dispensing in dispensings_read or ():
        key = (
            _medicine_key(dispensing.medication)
            or prescription_keys.get(str(dispensing.prescription_id))
            or f"dispensing:{dispensing.id}"
        )
        medicines.setdefault(key, _Medicine([], [])).dispensings.append(dispensing)
    known = {str(p.id): p for p in prescriptions_read or ()}
    rows = []
    for medicine in medicines.values():
        newest = (
            medicine.prescriptions[0].medication
            if medicine.prescriptions
            else (medicine.dispensings[0].medication)
        )
        last = _newest(medicine.dispensings)
        rows.append(
            MedicationRow(
                medication=newest,
                active_prescriptions=[p for p in medicine.prescriptions if _is_active(p, today)],
                last_dispensing=LastDispensing(
                    dispensing_id=last.id,
                    dispensed_at=last.dispensed_at,
                    amount=_amount(last),
                    pharmacy=_pharmacy(last),
                )
                if last is not None
                else None,
                withdrawals=[
                    Withdrawal(
                        prescription_id=p.id,
                        withdrawn_at=p.withdrawn_at,
                        reason=p.withdrawal_reason,
                    )
                    for p in medicine.prescriptions
                    if p.status is PrescriptionStatus.WITHDRAWN
                ],
                flags=_flags(
                    medicine,
                    known,
                    today,
                    warning_days,
                    have_prescriptions=have_prescriptions,
                    have_dispensings=have_dispensings,
                ),
                prescription_ids=[p.id for p in medicine.prescriptions],
                dispensing_ids=[d.id for d in medicine.dispensings],
                completeness=completeness,
            )
        )
    # Rows to act on first, then current medicines, each by name.
    rows.sort(
        key=lambda r: (
            not r.flags,
            not r.active_prescriptions,
            r.medication.substance or r.medication.name or "",
        )
    )
    return rows


async def medication_list_section(
    ctx: Context, nin: NationalIdentityNumber
) -> MedicationListSection:
    """The medication list for ``nin``, from this request's prescription searches (shared with
    ``medications`` when both are asked for)."""
    prescriptions_search, dispensings_search = prescriptions.prefetch(ctx, nin)
    prescribed, dispensed = await all_of(prescriptions_search, dispensings_search)
    truncated = prescribed.outcome.truncated or dispensed.outcome.truncated
    days = ctx.settings.medication_expiry_warning_days
    rows = build_rows(
        prescribed.value if prescribed.outcome.error is None else None,
        dispensed.value if dispensed.outcome.error is None else None,
        dt.datetime.now(dt.UTC).date(),
        days,
        truncated=truncated,
    )
    return MedicationListSection(
        **section_fields(SOURCE, [prescribed, dispensed], len(rows or [])),
        _rows=rows,
        _failure=prescribed,
        expiry_warning_days=days,
    )
