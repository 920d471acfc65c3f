"""``Patient.medicationList`` on the many-medicines fixture: one row per medicine, each flag on
the medicine that has it, the entries behind each row, and what a failed search does."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from gateway.fhir_date import FhirDateTime
from gateway.graphql.schema import build_schema
from mocks.faults import Fault, FaultKind
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.medication_list import MedicationFlag, build_rows
from resolvers.prescriptions import Medication, Prescription, PrescriptionStatus
from tests.conftest import SchemaRunner

schema = build_schema()

PATIENT = fixture("many-medicines")
LIST = """
query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) {
    medicationList {
      status emptyReason expiryWarningDays
      rows {
        medication { atcCode substance }
        activePrescriptions { id validUntil }
        lastDispensing { dispensingId dispensedAt amount pharmacy }
        withdrawals { prescriptionId withdrawnAt reason }
        flags prescriptionIds dispensingIds completeness
      }
    }
  }
}"""


async def _rows(runner: SchemaRunner, persona: str = "home-care-nurse") -> dict[str, Any]:
    body = await runner.execute(LIST, {"nin": PATIENT.nin}, persona=persona)
    assert body["errors"] == [], body["errors"]
    section = body["data"]["patient"]["medicationList"]
    return {"section": section, "by_atc": {r["medication"]["atcCode"]: r for r in section["rows"]}}


async def test_each_flag_is_on_the_medicine_that_has_it_and_nowhere_else(
    runner: SchemaRunner,
) -> None:
    rows = (await _rows(runner))["by_atc"]
    flags = {atc: set(row["flags"]) for atc, row in rows.items()}
    assert flags == {
        # The hospital's second warfarin prescription was never dispensed either.
        "B01AA03": {"DUPLICATE_ACTIVE_SUBSTANCE", "PRESCRIBED_NEVER_DISPENSED"},
        "C10AA05": {"EXPIRING_SOON"},
        "N05CF01": {"PRESCRIBED_NEVER_DISPENSED"},
        "N02AA05": {"DISPENSED_WITHOUT_VALID_PRESCRIPTION"},
        "M01AE01": {"DISPENSED_AFTER_WITHDRAWAL"},
        "N02BE01": set(),
        "A10BA02": set(),
        "C09AA05": set(),
        "A02BC01": set(),
        "C03CA01": set(),
    }


async def test_a_row_joins_prescriptions_and_dispensings_and_names_them(
    runner: SchemaRunner,
) -> None:
    result = await _rows(runner)
    rows, section = result["by_atc"], result["section"]
    assert section["status"] == "COMPLETE" and section["expiryWarningDays"] == 30
    warfarin = rows["B01AA03"]
    assert len(warfarin["activePrescriptions"]) == 2
    assert len(warfarin["prescriptionIds"]) == 2 and len(warfarin["dispensingIds"]) == 1
    assert warfarin["lastDispensing"]["dispensingId"] == warfarin["dispensingIds"][0]
    assert warfarin["lastDispensing"]["pharmacy"] == "Boots apotek Lillehammer"
    assert warfarin["lastDispensing"]["amount"] == "100 tablett"
    ibuprofen = rows["M01AE01"]
    assert ibuprofen["activePrescriptions"] == []
    [withdrawal] = ibuprofen["withdrawals"]
    assert withdrawal["reason"] == "Interaksjon med warfarin"
    assert withdrawal["prescriptionId"] == ibuprofen["prescriptionIds"][0]
    assert all(row["completeness"] == "COMPLETE" for row in rows.values())
    flagged = [bool(r["flags"]) for r in result["section"]["rows"]]
    assert flagged == sorted(flagged, reverse=True), "rows to act on come first"


async def test_a_list_built_while_dispensings_were_unavailable_says_so_on_every_row(
    runner: SchemaRunner, registries: MockRegistries
) -> None:
    await registries.set_fault(
        Source.PRESCRIPTIONS,
        Fault(FaultKind.HTTP_503, resource_types=frozenset({"MedicationDispense"})),
    )
    result = await _rows_allowing_errors(runner)
    section = result["section"]
    assert section["status"] == "PARTIAL"
    assert section["rows"], "prescriptions alone still make rows"
    for row in section["rows"]:
        assert row["completeness"] == "WITHOUT_DISPENSINGS"
        assert row["lastDispensing"] is None and row["dispensingIds"] == []
        assert "PRESCRIBED_NEVER_DISPENSED" not in row["flags"], "unknown is not never"
    by_atc = {r["medication"]["atcCode"]: r for r in section["rows"]}
    assert by_atc["B01AA03"]["flags"] == ["DUPLICATE_ACTIVE_SUBSTANCE"]
    assert by_atc["C10AA05"]["flags"] == ["EXPIRING_SOON"]


async def _rows_allowing_errors(runner: SchemaRunner) -> dict[str, Any]:
    body = await runner.execute(LIST, {"nin": PATIENT.nin}, persona="home-care-nurse")
    return {"section": body["data"]["patient"]["medicationList"]}


async def test_the_medication_list_is_governed_and_logged_as_the_medications_section(
    runner: SchemaRunner,
) -> None:
    own = fixture("home-care-elderly")  # the patient persona's record
    restrict = "mutation($nin: NationalIdentityNumber!) { restrictSections(nin: $nin, " \
        "sections: [MEDICATIONS]) { entries { id } } }"  # fmt: skip
    assert (await runner.execute(restrict, {"nin": own.nin}, persona="patient"))["errors"] == []
    # A GP on the EXCEPTION basis does not open a restricted section.
    context = runner.context("home-care-gp")
    result = await schema.execute(LIST, variable_values={"nin": own.nin}, context_value=context)
    assert result.data is not None
    section = result.data["patient"]["medicationList"]
    assert section["status"] == "RESTRICTED" and section["rows"] is None
    assert [e.extensions["code"] for e in result.errors or [] if e.extensions] == ["RESTRICTED"]
    logged = [(e.field, e.outcome, e.code) for e in context.audit.events]
    assert ("medicationList", "DENIED", "RESTRICTED") in logged
    # On CONSENT it opens, flagged as a restricted section opened.
    context = runner.context("home-care-gp", access_basis="CONSENT")
    result = await schema.execute(LIST, variable_values={"nin": own.nin}, context_value=context)
    assert result.errors is None and result.data is not None
    [event] = [e for e in context.audit.events if e.field == "medicationList"]
    assert event.outcome == "GRANTED" and event.restricted_opened


def test_the_expiry_warning_counts_days_from_today() -> None:
    today = dt.date(2026, 11, 26)
    medication = Medication(atc_code="C10AA05", substance="atorvastatin", product_name="Lipitor")

    def prescription(valid_until: dt.date) -> Prescription:
        return Prescription(
            id=strawberry.ID("p1"), status=PrescriptionStatus.ACTIVE, medication=medication,
            dosage=None, prescribed_at=None, prescriber=None,
            valid_from=FhirDateTime.parse("2026-01-01"),
            valid_until=FhirDateTime.parse(valid_until.isoformat()), withdrawn_at=None,
            withdrawal_reason=None,
        )  # fmt: skip

    def flags(valid_until: dt.date, days: int) -> list[MedicationFlag]:
        rows = build_rows([prescription(valid_until)], [], today, days)
        assert rows is not None
        return [f for f in rows[0].flags if f is MedicationFlag.EXPIRING_SOON]

    assert flags(dt.date(2026, 12, 26), 30) == [MedicationFlag.EXPIRING_SOON]
    assert flags(dt.date(2026, 12, 27), 30) == []
    assert flags(dt.date(2026, 12, 6), 10) == [MedicationFlag.EXPIRING_SOON]
    assert flags(dt.date(2026, 12, 7), 10) == []
