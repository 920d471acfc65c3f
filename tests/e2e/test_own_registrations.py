"""The patient's own registrations and privacy settings: the patient, on their own record only."""

from __future__ import annotations

from typing import Any

from mocks.fixtures import BLOCKED_HPR_NUMBER, fixture
from mocks.personas import PID
from mocks.runner import MockRegistries
from tests.conftest import GatewayServer, bearer
from tests.e2e.documents import BLOCK, UNBLOCK

PATIENT = fixture("home-care-elderly")  # the `patient` persona's own record
OTHER = fixture("no-gp")

ADD_KIN = """
mutation($nin: NationalIdentityNumber!, $input: NextOfKinInput!) {
  addNextOfKin(nin: $nin, input: $input) { entries { id version } }
}"""
CHANGE_KIN = """
mutation($nin: NationalIdentityNumber!, $entry: OwnEntryRef!, $input: NextOfKinInput!) {
  changeNextOfKin(nin: $nin, entry: $entry, input: $input) { entries { id version } }
}"""
REMOVE_KIN = """
mutation($nin: NationalIdentityNumber!, $entry: OwnEntryRef!) {
  removeNextOfKin(nin: $nin, entry: $entry) { entries { id version } }
}"""
OWN = """
query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) {
    ownRegistrations {
      nextOfKin { id version name relationship phone }
      communicationNeeds { needs { id version description } }
      selfReportedConditions { id version description }
    }
  }
}"""
NEED = """
mutation($nin: NationalIdentityNumber!, $input: CommunicationNeedInput!) {
  addCommunicationNeed(nin: $nin, input: $input) { entries { id } }
}"""
SELF_REPORTED = """
mutation($nin: NationalIdentityNumber!, $category: SelfReportedCategory!) {
  addSelfReportedCondition(nin: $nin, category: $category) { entries { id } }
}"""
RESTRICT = """
mutation($nin: NationalIdentityNumber!) {
  restrictSections(nin: $nin, sections: [MEDICATIONS, LAB_RESULTS]) { entries { id } }
}"""
OPEN = """
mutation($nin: NationalIdentityNumber!) {
  openSections(nin: $nin, sections: [MEDICATIONS]) { entries { id } }
}"""
STATUS = """
query($nin: NationalIdentityNumber!) {
  patientStatus(nin: $nin) { restrictedSections blockedForMe }
}"""
OWN_LOG = """
query($nin: NationalIdentityNumber!) {
  accessLog(nin: $nin, first: 20) { entries { sections changed protectionLifted } }
}"""
KARI = {"givenName": "Ola", "familyName": "Nordmann", "relation": "NEIGHBOUR",
        "phone": "+47 912 34 567"}  # fmt: skip


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def test_the_patient_adds_changes_and_removes_a_next_of_kin(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    added = await gateway.graphql(ADD_KIN, {"nin": PATIENT.nin, "input": KARI}, persona="patient")
    assert added.get("errors") is None, added
    [entry] = added["data"]["addNextOfKin"]["entries"]
    own = await gateway.graphql(OWN, {"nin": PATIENT.nin}, persona="patient")
    kin = own["data"]["patient"]["ownRegistrations"]["nextOfKin"]
    assert {"id": entry["id"], "version": "1", "name": "Ola Nordmann", "relationship": "NBOR",
            "phone": "+4791234567"} in kin  # fmt: skip

    ref = {"id": entry["id"], "baseVersion": "1"}
    changed = await gateway.graphql(
        CHANGE_KIN, {"nin": PATIENT.nin, "entry": ref, "input": {**KARI, "relation": "FRIEND"}},
        persona="patient",
    )  # fmt: skip
    assert changed["data"]["changeNextOfKin"]["entries"][0]["version"] == "2"
    removed = await gateway.graphql(
        REMOVE_KIN, {"nin": PATIENT.nin, "entry": {**ref, "baseVersion": "2"}}, persona="patient"
    )
    assert removed.get("errors") is None, removed
    own = await gateway.graphql(OWN, {"nin": PATIENT.nin}, persona="patient")
    names = [k["name"] for k in own["data"]["patient"]["ownRegistrations"]["nextOfKin"]]
    assert "Ola Nordmann" not in names and len(names) == 2, "removed, the seeded two remain"
    kept = registries.population.record(PATIENT.nin)
    assert kept is not None
    assert any(r["id"] == entry["id"] and r["active"] is False for r in kept.related_persons)


async def test_a_nurse_or_doctor_cannot_change_a_patients_next_of_kin(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    for persona in ("home-care-nurse", "home-care-gp", "privacy-officer"):
        body = await gateway.graphql(ADD_KIN, {"nin": PATIENT.nin, "input": KARI}, persona=persona)
        assert _codes(body) == ["FORBIDDEN"], (persona, body)
    other = await gateway.graphql(ADD_KIN, {"nin": OTHER.nin, "input": KARI}, persona="patient")
    assert _codes(other) == ["FORBIDDEN"], "a patient writes only on their own record"
    assert len(registries.population.edits) == 0


async def test_communication_needs_and_self_reported_conditions_are_checked_and_written(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    no_language = await gateway.graphql(
        NEED, {"nin": PATIENT.nin, "input": {"need": "INTERPRETER"}}, persona="patient"
    )
    assert no_language["errors"][0]["extensions"]["field"] == "input.language"
    bad_phone = await gateway.graphql(
        ADD_KIN, {"nin": PATIENT.nin, "input": {**KARI, "phone": "12ab"}}, persona="patient"
    )
    assert bad_phone["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "input.phone",
    }
    assert len(registries.population.edits) == 0
    need = await gateway.graphql(
        NEED, {"nin": PATIENT.nin, "input": {"need": "INTERPRETER", "language": "pl"}},
        persona="patient",
    )  # fmt: skip
    assert need.get("errors") is None, need
    disease = await gateway.graphql(
        SELF_REPORTED, {"nin": PATIENT.nin, "category": "DIABETES"}, persona="patient"
    )
    assert disease.get("errors") is None, disease
    own = await gateway.graphql(OWN, {"nin": PATIENT.nin}, persona="patient")
    registrations = own["data"]["patient"]["ownRegistrations"]
    assert "Trenger tolk (pl)" in [
        n["description"] for n in registrations["communicationNeeds"]["needs"]
    ]
    assert "Diabetes" in [c["description"] for c in registrations["selfReportedConditions"]]


async def test_at_most_thirty_self_reported_conditions(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    own = await gateway.graphql(OWN, {"nin": PATIENT.nin}, persona="patient")
    already = len(own["data"]["patient"]["ownRegistrations"]["selfReportedConditions"])
    for _ in range(30 - already):
        body = await gateway.graphql(
            SELF_REPORTED, {"nin": PATIENT.nin, "category": "OTHER"}, persona="patient"
        )
        assert body.get("errors") is None, body
    over = await gateway.graphql(
        SELF_REPORTED, {"nin": PATIENT.nin, "category": "EPILEPSY"}, persona="patient"
    )
    assert over["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "category"}
    assert len(registries.population.edits) == 30 - already


async def test_blocking_holds_at_once_and_lifting_it_is_flagged_in_the_log(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    hpr = "9144901"  # the emergency-doctor persona
    blocked = await gateway.graphql(BLOCK, {"nin": PATIENT.nin, "hpr": hpr}, persona="patient")
    assert blocked.get("errors") is None, blocked
    status = await gateway.graphql(STATUS, {"nin": PATIENT.nin}, persona="emergency-doctor")
    assert status["data"]["patientStatus"]["blockedForMe"] is True
    lifted = await gateway.graphql(UNBLOCK, {"nin": PATIENT.nin, "hpr": hpr}, persona="patient")
    assert (
        lifted.get("errors") is None
        and len(lifted["data"]["unblockHealthPersonnel"]["entries"]) == 1
    )
    status = await gateway.graphql(STATUS, {"nin": PATIENT.nin}, persona="emergency-doctor")
    assert status["data"]["patientStatus"]["blockedForMe"] is False
    log = await gateway.graphql(OWN_LOG, {"nin": PATIENT.nin}, persona="patient")
    privacy = [e for e in log["data"]["accessLog"]["entries"]
               if "change:privacySettings" in e["sections"]]  # fmt: skip
    assert [e["protectionLifted"] for e in privacy] == [True, False], "newest first: lift, block"
    assert all(e["changed"] for e in privacy)


async def test_the_patient_lifts_a_seeded_block_and_opens_a_restricted_section(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    blocked = fixture("blocked-hpr")
    # The blocked-hpr patient is not the patient persona: use a token for her own number.
    lifted = await gateway.graphql(
        UNBLOCK, {"nin": blocked.nin, "hpr": BLOCKED_HPR_NUMBER},
        headers=_patient_headers(blocked.nin), persona=None,
    )  # fmt: skip
    assert lifted.get("errors") is None, lifted
    status = await gateway.graphql(STATUS, {"nin": blocked.nin}, persona="blocked-doctor")
    assert status["data"]["patientStatus"]["blockedForMe"] is False

    restricted = await gateway.graphql(RESTRICT, {"nin": PATIENT.nin}, persona="patient")
    assert restricted.get("errors") is None, restricted
    status = await gateway.graphql(STATUS, {"nin": PATIENT.nin}, persona="home-care-gp")
    assert sorted(status["data"]["patientStatus"]["restrictedSections"]) == [
        "labResults", "medications"
    ]  # fmt: skip
    opened = await gateway.graphql(OPEN, {"nin": PATIENT.nin}, persona="patient")
    assert opened.get("errors") is None, opened
    status = await gateway.graphql(STATUS, {"nin": PATIENT.nin}, persona="home-care-gp")
    assert status["data"]["patientStatus"]["restrictedSections"] == ["labResults"]
    again = await gateway.graphql(OPEN, {"nin": PATIENT.nin}, persona="patient")
    assert again["data"]["openSections"]["entries"] == [], "nothing left to open: no write"


def _patient_headers(nin: str) -> dict[str, str]:
    return bearer("patient", **{PID: nin})
