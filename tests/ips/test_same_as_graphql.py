"""The IPS document and the GraphQL summary agree item for item, for every fixture patient.

Both are fetched over HTTP from the same gateway, for the same caller; the document's entries
carry their registry ids, so each GraphQL item is found in its IPS section and nothing else is.
"""

from __future__ import annotations

from typing import Any

import pytest

from mocks.fixtures import FIXTURES, fixture
from tests.conftest import GatewayServer
from tests.ips.support import (
    ALERTS,
    ALLERGIES,
    CARE_TEAM,
    CONSENT,
    D_NUMBER_SYSTEM,
    DEVICES,
    DOCUMENTS,
    MEDICATIONS,
    NIN_SYSTEM,
    OWN,
    PROBLEMS,
    PROCEDURES,
    RESULTS,
    VISITS,
    empty_reason,
    fetch_document,
    ids,
    registry_id,
    resources,
    section_resources,
    sections,
    status,
)

# Everything the comparison needs, and nothing about timing.
QUERY = """
query Compare($nin: NationalIdentityNumber!) {
  patient(nin: $nin) {
    demographics { status details { fullName birthDate gender } }
    criticalInformation {
      status emptyReason
      allergies { id } criticalConditions { id } treatments { id } implants { id }
      warnings { id }
    }
    medications { status emptyReason prescriptions { id } dispensings { id } }
    medicationList { status rows { prescriptionIds dispensingIds } }
    generalPractitioner { status emptyReason regularGp { hprNumber } }
    visitHistory { status emptyReason visits { id } }
    documents { status emptyReason documents { id } }
    labResults { status emptyReason reports { id results { id } } unreportedResults { id } }
    ownRegistrations {
      status emptyReason
      nextOfKin { id }
      communicationNeeds { needs { id } languages { code } interpreterRequired }
      selfReportedConditions { id }
    }
  }
}
"""
_EMPTY = {"NONE_RECORDED": "nilknown", "WITHHELD": "withheld", "SOURCE_UNAVAILABLE": "unavailable"}
SUMMARY_FIXTURES = [f.key for f in FIXTURES if f.key != "reserved"]


def _ids(items: list[dict[str, Any]] | None) -> list[str]:
    return [item["id"] for item in items or []]


def _system(nin: str) -> str:
    return D_NUMBER_SYSTEM if int(nin[0]) >= 4 else NIN_SYSTEM


async def _both(
    gateway: GatewayServer, key: str, persona: str, headers: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    nin = fixture(key).nin
    body = await gateway.graphql(QUERY, {"nin": nin}, headers=headers, persona=persona)
    code, document = await fetch_document(
        gateway, nin, persona=persona, headers=headers, system=_system(nin)
    )
    assert code == 200, document
    patient: dict[str, Any] = body["data"]["patient"]
    return patient, document


def _same_section(graphql: dict[str, Any], section: dict[str, Any]) -> None:
    """A section whose GraphQL twin is a whole section: the same status, and the same reason
    for being empty when it is."""
    assert status(section) == graphql["status"].lower()
    if "entry" not in section and graphql["emptyReason"] is not None:
        assert empty_reason(section) == _EMPTY[graphql["emptyReason"]]


@pytest.mark.parametrize("key", SUMMARY_FIXTURES)
@pytest.mark.parametrize(
    ("persona", "headers"), [("home-care-gp", CONSENT), ("pharmacist", CONSENT)]
)
async def test_every_item_of_the_summary_is_in_its_ips_section_and_nothing_else_is(
    gateway: GatewayServer, key: str, persona: str, headers: dict[str, str]
) -> None:
    graphql, document = await _both(gateway, key, persona, headers)
    _same_critical_information(graphql, document)
    _same_medicines(graphql, document)
    _same_results(graphql, document)
    _same_others(graphql, document)
    _same_patient(graphql, document)


def _same_critical_information(graphql: dict[str, Any], document: dict[str, Any]) -> None:
    by_code = sections(document)
    critical = graphql["criticalInformation"]
    for code, field, kind in (
        (ALLERGIES, "allergies", "AllergyIntolerance"),
        (PROBLEMS, "criticalConditions", "Condition"),
        (PROCEDURES, "treatments", "Procedure"),
        (DEVICES, "implants", "DeviceUseStatement"),
        (ALERTS, "warnings", "Flag"),
    ):
        entries = section_resources(document, code)
        assert ids(entries, kind) == _ids(critical[field]), code
        assert len(entries) == len(critical[field] or [])
        if critical["status"] in ("RESTRICTED", "FORBIDDEN"):
            assert empty_reason(by_code[code]) == "withheld"
        elif not entries:
            assert empty_reason(by_code[code]) == "nilknown"


def _same_medicines(graphql: dict[str, Any], document: dict[str, Any]) -> None:
    """One statement per medication-list row, derived from exactly the row's prescriptions and
    dispensings; every prescription and dispensing is in the Bundle."""
    medications, rows = graphql["medications"], graphql["medicationList"]["rows"]
    every = list(resources(document).values())
    assert sorted(ids(every, "MedicationRequest")) == sorted(_ids(medications["prescriptions"]))
    assert sorted(ids(every, "MedicationDispense")) == sorted(_ids(medications["dispensings"]))
    statements = section_resources(document, MEDICATIONS)
    assert [s["resourceType"] for s in statements] == ["MedicationStatement"] * len(rows or [])
    by_url = resources(document)
    for statement, row in zip(statements, rows or [], strict=True):
        derived = [by_url[ref["reference"]] for ref in statement.get("derivedFrom", [])]
        assert ids(derived, "MedicationRequest") == row["prescriptionIds"]
        assert ids(derived, "MedicationDispense") == row["dispensingIds"]
    _same_section(graphql["medications"], sections(document)[MEDICATIONS])


def _same_results(graphql: dict[str, Any], document: dict[str, Any]) -> None:
    """Each report with its results in order, then the results outside any report."""
    by_url = resources(document)
    labs = graphql["labResults"]
    entries = section_resources(document, RESULTS)
    reports = [e for e in entries if e["resourceType"] == "DiagnosticReport"]
    assert [registry_id(r) for r in reports] == _ids(labs["reports"])
    for report, expected in zip(reports, labs["reports"] or [], strict=True):
        results = [by_url[ref["reference"]] for ref in report.get("result", [])]
        assert [registry_id(r) for r in results] == _ids(expected["results"])
    assert ids(entries, "Observation") == _ids(labs["unreportedResults"])
    _same_section(labs, sections(document)[RESULTS])


def _same_others(graphql: dict[str, Any], document: dict[str, Any]) -> None:
    by_code, by_url = sections(document), resources(document)
    for graphql_section, code, field, kind in (
        (graphql["visitHistory"], VISITS, "visits", "Encounter"),
        (graphql["documents"], DOCUMENTS, "documents", "DocumentReference"),
    ):
        assert ids(section_resources(document, code), kind) == _ids(graphql_section[field])
        _same_section(graphql_section, by_code[code])

    gp = graphql["generalPractitioner"]
    care_team = section_resources(document, CARE_TEAM)
    if gp["regularGp"] is None:
        assert care_team == []
    else:
        role = care_team[0]
        doctor = by_url[role["practitioner"]["reference"]]
        assert doctor["identifier"][0]["value"] == gp["regularGp"]["hprNumber"]
    _same_section(gp, by_code[CARE_TEAM])

    own = graphql["ownRegistrations"]
    entries = section_resources(document, OWN)
    assert ids(entries, "RelatedPerson") == _ids(own["nextOfKin"])
    needs = (own["communicationNeeds"] or {}).get("needs")
    assert ids(entries, "Flag") == _ids(needs)
    assert ids(entries, "Condition") == _ids(own["selfReportedConditions"])
    _same_section(own, by_code[OWN])


def _same_patient(graphql: dict[str, Any], document: dict[str, Any]) -> None:
    own = graphql["ownRegistrations"]
    patient = next(r for r in resources(document).values() if r["resourceType"] == "Patient")
    details = graphql["demographics"]["details"]
    if details is not None:
        assert patient["name"][0].get("text") == details["fullName"]
        assert patient.get("birthDate") == details["birthDate"][:10]
    else:
        assert "name" not in patient
    languages = (own["communicationNeeds"] or {}).get("languages") or []
    shown = [c["language"] for c in patient.get("communication", [])]
    assert [c.get("coding", [{}])[0].get("code") for c in shown] == [
        language["code"] for language in languages
    ]
