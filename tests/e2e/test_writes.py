"""Writing critical information over HTTP: who may write what, versions, idempotency, the log."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from gateway.settings import AuditSettings
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from tests.conftest import GatewayServer, serve, settings_for
from tests.e2e.documents import UPDATE

PATIENT = fixture("home-care-elderly")
CRITICAL = fixture("critical-allergies")

REGISTER_TREATMENT = """
mutation($nin: NationalIdentityNumber!, $input: OngoingTreatmentInput!, $key: String) {
  registerOngoingTreatment(nin: $nin, input: $input, idempotencyKey: $key) {
    replayed entries { resourceType id version }
  }
}"""
REGISTER_ALLERGY = """
mutation($nin: NationalIdentityNumber!, $input: AllergyInput!, $key: String) {
  registerAllergy(nin: $nin, input: $input, idempotencyKey: $key) {
    replayed entries { resourceType id version }
  }
}"""
RETIRE = """
mutation($nin: NationalIdentityNumber!, $entry: EntryRef!, $reason: RetireReason!) {
  retireCriticalInformation(nin: $nin, entry: $entry, reason: $reason,
                            explanation: "Registrert på feil pasient") {
    entries { id version }
  }
}"""
TREATMENTS = """
query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) { criticalInformation { status treatments { id version description note } } }
}"""
ALLERGIES = """
query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) {
    criticalInformation { allergies { id version agent { display } criticality verification } }
  }
}"""
OWN_LOG = """
query($nin: NationalIdentityNumber!) {
  accessLog(nin: $nin, first: 5) { entries { actorName sections changed protectionLifted } }
}"""

DIALYSIS = {
    "treatment": "DIALYSIS",
    "note": "Hemodialyse tirsdag, torsdag og lørdag.",
    "startedOn": "2026-10-01",
}
PENICILLIN = {
    "agent": "Penicillin V",
    "atcCode": "J01CE02",
    "category": "MEDICATION",
    "reaction": "Utslett",
    "severity": "MILD",
    "criticality": "LOW",
    "verification": "UNCONFIRMED",
}


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def test_a_nurse_registers_dialysis_and_the_patient_sees_the_change_in_their_log(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    body = await gateway.graphql(
        REGISTER_TREATMENT, {"nin": PATIENT.nin, "input": DIALYSIS}, persona="home-care-nurse"
    )
    assert body.get("errors") is None, body
    written = body["data"]["registerOngoingTreatment"]
    assert written["replayed"] is False
    [entry] = written["entries"]
    assert entry["resourceType"] == "Procedure" and entry["version"] == "1"

    read = await gateway.graphql(TREATMENTS, {"nin": PATIENT.nin}, persona="home-care-nurse")
    treatments = read["data"]["patient"]["criticalInformation"]["treatments"]
    assert {"id": entry["id"], "version": "1", "description": "Dialyse",
            "note": DIALYSIS["note"]} in treatments  # fmt: skip

    log = await gateway.graphql(OWN_LOG, {"nin": PATIENT.nin}, persona="patient")
    entries = log["data"]["accessLog"]["entries"]
    change = next(e for e in entries if "change:criticalInformation" in e["sections"])
    assert change["actorName"] == "Lene Bråten"
    assert change["changed"] is True and change["protectionLifted"] is False
    reads = [e for e in entries if e["sections"] == ["criticalInformation"]]
    assert reads and all(e["changed"] is False for e in reads)


async def test_nurses_may_write_only_radiotherapy_cytostatics_and_dialysis(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    for treatment in ("RADIOTHERAPY", "CYTOSTATICS", "DIALYSIS"):
        body = await gateway.graphql(
            REGISTER_TREATMENT,
            {"nin": PATIENT.nin, "input": {**DIALYSIS, "treatment": treatment}},
            persona="home-care-nurse",
        )
        assert body.get("errors") is None, (treatment, body)
    for treatment in ("TRANSPLANT_LIST", "OTHER"):
        body = await gateway.graphql(
            REGISTER_TREATMENT,
            {"nin": PATIENT.nin, "input": {**DIALYSIS, "treatment": treatment}},
            persona="home-care-nurse",
        )
        assert _codes(body) == ["FORBIDDEN"], (treatment, body)
    allergy = await gateway.graphql(
        REGISTER_ALLERGY, {"nin": PATIENT.nin, "input": PENICILLIN}, persona="home-care-nurse"
    )
    assert _codes(allergy) == ["FORBIDDEN"]
    assert len(registries.population.edits) == 3, "only the three allowed treatments"


async def test_doctors_write_every_kind_and_nobody_else_writes_at_all(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    for persona in ("home-care-gp", "nursing-home-doctor"):
        body = await gateway.graphql(
            REGISTER_ALLERGY, {"nin": PATIENT.nin, "input": PENICILLIN}, persona=persona
        )
        assert body.get("errors") is None, (persona, body)
        body = await gateway.graphql(
            REGISTER_TREATMENT,
            {"nin": PATIENT.nin, "input": {**DIALYSIS, "treatment": "TRANSPLANT_LIST"}},
            persona=persona,
        )
        assert body.get("errors") is None, (persona, body)
    written = len(registries.population.edits)
    for persona in ("pharmacist", "patient", "privacy-officer"):
        for query, variables in (
            (REGISTER_ALLERGY, {"nin": PATIENT.nin, "input": PENICILLIN}),
            (REGISTER_TREATMENT, {"nin": PATIENT.nin, "input": DIALYSIS}),
        ):
            body = await gateway.graphql(query, variables, persona=persona)
            assert _codes(body) == ["FORBIDDEN"], (persona, body)
    assert len(registries.population.edits) == written


async def test_a_blocked_doctor_cannot_write_even_in_an_emergency(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    blocked = fixture("blocked-hpr")
    body = await gateway.graphql(
        REGISTER_ALLERGY, {"nin": blocked.nin, "input": PENICILLIN}, persona="blocked-doctor"
    )
    assert _codes(body) == ["BLOCKED"]
    # Before any entry is read: an id that exists and one that does not answer alike.
    for entry_id in ("fx-blocked-hpr-alg1", "fx-blocked-hpr-alg999"):
        entry = {"kind": "ALLERGY", "id": entry_id, "baseVersion": "1"}
        body = await gateway.graphql(
            UPDATE, {"nin": blocked.nin, "entry": entry, "change": {"note": "x"}},
            persona="blocked-doctor",
        )  # fmt: skip
        assert _codes(body) == ["BLOCKED"], entry_id
    assert len(registries.population.edits) == 0


async def test_an_update_based_on_a_stale_version_fails_and_changes_nothing(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    before = await gateway.graphql(ALLERGIES, {"nin": CRITICAL.nin})
    allergy = before["data"]["patient"]["criticalInformation"]["allergies"][0]
    entry = {"kind": "ALLERGY", "id": allergy["id"], "baseVersion": allergy["version"]}
    first = await gateway.graphql(
        UPDATE, {"nin": CRITICAL.nin, "entry": entry, "change": {"criticality": "LOW"}}
    )
    assert first.get("errors") is None, first
    assert first["data"]["updateCriticalInformation"]["entries"][0]["version"] == "2"

    stale = await gateway.graphql(
        UPDATE, {"nin": CRITICAL.nin, "entry": entry, "change": {"criticality": "HIGH",
                 "verification": "PRESUMED"}},
    )  # fmt: skip
    assert _codes(stale) == ["VERSION_CONFLICT"]
    after = await gateway.graphql(ALLERGIES, {"nin": CRITICAL.nin})
    now = next(
        a for a in after["data"]["patient"]["criticalInformation"]["allergies"]
        if a["id"] == allergy["id"]
    )  # fmt: skip
    assert now["version"] == "2" and now["criticality"] == "LOW"
    assert now["verification"] == allergy["verification"], "the stale change wrote nothing"


async def test_a_retried_create_with_the_same_idempotency_key_writes_once(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    key = f"retry-{uuid.uuid4().hex[:12]}"
    variables = {"nin": PATIENT.nin, "input": DIALYSIS, "key": key}
    first = await gateway.graphql(REGISTER_TREATMENT, variables, persona="home-care-nurse")
    again = await gateway.graphql(REGISTER_TREATMENT, variables, persona="home-care-nurse")
    assert first.get("errors") is None and again.get("errors") is None, (first, again)
    assert first["data"]["registerOngoingTreatment"]["replayed"] is False
    assert again["data"]["registerOngoingTreatment"]["replayed"] is True
    assert (
        again["data"]["registerOngoingTreatment"]["entries"]
        == first["data"]["registerOngoingTreatment"]["entries"]
    )
    assert len(registries.population.edits) == 1
    log = await gateway.graphql(OWN_LOG, {"nin": PATIENT.nin}, persona="patient")
    changes = [
        e["changed"]
        for e in log["data"]["accessLog"]["entries"]
        if "change:criticalInformation" in e["sections"]
    ]
    assert changes[:2] == [False, True], "newest first: the replay changed nothing, the first did"
    # Another caller using the same string gets their own entry: keys are per caller.
    other = await gateway.graphql(REGISTER_TREATMENT, variables, persona="home-care-gp")
    assert other["data"]["registerOngoingTreatment"]["replayed"] is False
    assert len(registries.population.edits) == 2


async def test_a_retried_update_with_the_same_key_is_a_replay_not_a_conflict(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    before = await gateway.graphql(ALLERGIES, {"nin": CRITICAL.nin})
    allergy = before["data"]["patient"]["criticalInformation"]["allergies"][0]
    variables: dict[str, Any] = {
        "nin": CRITICAL.nin,
        "entry": {"kind": "ALLERGY", "id": allergy["id"], "baseVersion": allergy["version"]},
        "change": {"reaction": "Anafylaktisk sjokk"},
        "key": "update-once-1",
    }
    first = await gateway.graphql(UPDATE, variables)
    again = await gateway.graphql(UPDATE, variables)
    assert first["data"]["updateCriticalInformation"]["replayed"] is False
    assert again["data"]["updateCriticalInformation"]["replayed"] is True
    assert again["data"]["updateCriticalInformation"]["entries"][0]["version"] == "2"
    other_key = await gateway.graphql(UPDATE, {**variables, "key": "another-key-2"})
    assert _codes(other_key) == ["VERSION_CONFLICT"]
    # Once someone else has changed the entry (no key), the old key's retry is a conflict: the
    # version it made is no longer the current one.
    entry = {**variables["entry"], "baseVersion": "2"}
    later = await gateway.graphql(
        UPDATE, {"nin": CRITICAL.nin, "entry": entry, "change": {"note": "Sjekket"}}
    )
    assert later["data"]["updateCriticalInformation"]["entries"][0]["version"] == "3"
    assert _codes(await gateway.graphql(UPDATE, variables)) == ["VERSION_CONFLICT"]


async def test_retiring_keeps_the_entry_and_hides_one_entered_in_error(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    before = await gateway.graphql(TREATMENTS, {"nin": CRITICAL.nin})
    [dialysis] = before["data"]["patient"]["criticalInformation"]["treatments"]
    entry = {"kind": "ONGOING_TREATMENT", "id": dialysis["id"], "baseVersion": "1"}
    body = await gateway.graphql(
        RETIRE, {"nin": CRITICAL.nin, "entry": entry, "reason": "ENTERED_IN_ERROR"},
        persona="home-care-nurse",
    )  # fmt: skip
    assert body.get("errors") is None, body
    after = await gateway.graphql(TREATMENTS, {"nin": CRITICAL.nin})
    assert after["data"]["patient"]["criticalInformation"]["treatments"] == []
    kept = registries.population.record(CRITICAL.nin)
    assert kept is not None
    [procedure] = [p for p in kept.procedures if p["id"] == dialysis["id"]]
    assert procedure["status"] == "entered-in-error"
    assert (
        procedure["extension"][-1]["valueCodeableConcept"]["text"] == "Registrert på feil pasient"
    )


async def test_every_input_is_checked_and_a_bad_one_names_its_field_and_writes_nothing(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    cases = [
        ({**PENICILLIN, "atcCode": "penicillin"}, "input.atcCode"),
        ({**PENICILLIN, "agent": "  "}, "input.agent"),
        ({**PENICILLIN, "reaction": "x" * 501}, "input.reaction"),
    ]
    for allergy, field in cases:
        body = await gateway.graphql(REGISTER_ALLERGY, {"nin": PATIENT.nin, "input": allergy})
        assert _codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["field"] == field
    future = {**DIALYSIS, "startedOn": "2999-01-01"}
    body = await gateway.graphql(REGISTER_TREATMENT, {"nin": PATIENT.nin, "input": future})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.startedOn"}
    body = await gateway.graphql(
        REGISTER_TREATMENT, {"nin": PATIENT.nin, "input": DIALYSIS, "key": "short"}
    )
    assert body["errors"][0]["extensions"]["field"] == "idempotencyKey"
    bad_nin = await gateway.graphql(REGISTER_TREATMENT, {"nin": "12345678901", "input": DIALYSIS})
    assert _codes(bad_nin) == ["BAD_USER_INPUT"]
    stale = await gateway.graphql(
        UPDATE,
        {"nin": PATIENT.nin, "entry": {"kind": "ALLERGY", "id": "x", "baseVersion": "one"},
         "change": {"note": "ny"}},
    )  # fmt: skip
    assert stale["errors"][0]["extensions"]["field"] == "entry.baseVersion"
    wrong_field = await gateway.graphql(
        UPDATE,
        {"nin": PATIENT.nin, "entry": {"kind": "IMPLANT", "id": "x", "baseVersion": "1"},
         "change": {"criticality": "HIGH"}},
    )  # fmt: skip
    assert wrong_field["errors"][0]["extensions"]["field"] == "change.criticality"
    assert len(registries.population.edits) == 0


async def test_a_mutation_is_refused_over_get(gateway: GatewayServer) -> None:
    query = 'mutation { openSections(nin: "12834122055", sections: [DOCUMENTS]) { replayed } }'
    async with gateway.session.get(
        f"{gateway.url}/graphql",
        params={"query": query},
        headers={"apollo-require-preflight": "true"},
    ) as response:
        assert response.status == 405
        body = await response.json()
    assert _codes(body) == ["METHOD_NOT_ALLOWED"]


async def test_a_write_fails_closed_when_the_access_log_cannot_take_its_intent(
    registries: MockRegistries,
) -> None:
    audit = AuditSettings(sqlite_file=f"audit-{uuid.uuid4().hex}.sqlite3", write_timeout_s=0.5)
    settings = settings_for(registries).model_copy(update={"audit": audit})
    async with serve(settings) as server:
        variables = {"nin": PATIENT.nin, "input": DIALYSIS}
        blocker = sqlite3.connect(settings.data_dir / audit.sqlite_file, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            body = await server.graphql(REGISTER_TREATMENT, variables, persona="home-care-nurse")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert body.get("data") is None
        assert _codes(body) == ["AUDIT_UNAVAILABLE"]
        assert len(registries.population.edits) == 0, "no log entry, no write"
        body = await server.graphql(REGISTER_TREATMENT, variables, persona="home-care-nurse")
        assert body.get("errors") is None and len(registries.population.edits) == 1
