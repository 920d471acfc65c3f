"""Who sees what, over HTTP, and what the access log then holds: on SQLite and on PostgreSQL.

Every test here runs twice, once per access-log store, against a gateway of its own in front of
the shared mock registries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.settings import AuditSettings
from mocks.fixtures import BLOCKED_HPR_NUMBER, fixture
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.examples import summary_query
from tests.audit_support import drop_schema, new_schema, require_postgres
from tests.conftest import GatewayServer, serve, settings_for

ELDERLY = fixture("home-care-elderly")
RESERVED = fixture("reserved")
RESTRICTED = fixture("restricted-sections")
BLOCKING = fixture("blocked-hpr")

SECTIONS = (
    "demographics",
    "criticalInformation",
    "medications",
    "generalPractitioner",
    "visitHistory",
    "documents",
    "labResults",
    "ownRegistrations",
)
SECTION_SOURCE = {
    "medications": Source.PRESCRIPTIONS,
    "generalPractitioner": Source.GP_REGISTRY,
    "visitHistory": Source.VISIT_HISTORY,
    "documents": Source.DOCUMENTS,
    "labResults": Source.LAB_RESULTS,
}

LOG_QUERY = """
query($nin: NationalIdentityNumber!, $first: Int! = 20, $after: String, $hpr: String,
      $emergencyOnly: Boolean! = false) {
  accessLog(nin: $nin, first: $first, after: $after, actorHprNumber: $hpr,
            emergencyOnly: $emergencyOnly) {
    hasNextPage endCursor
    entries {
      cursor at actorName organisationName legalEntity authorisation purpose basis emergency
      restrictedOpened sections granted hprNumber clientName requestId btgReason
      fields { field outcome code restrictedOpened fromCache }
    }
  }
}
"""
ALERTS = "{ privacyAlerts(first: 50) { alerts { text actorName hprNumber purpose accessId } } }"
STATUS = """query($nin: NationalIdentityNumber!) {
  patientStatus(nin: $nin) { reserved restrictedSections blockedForMe } }"""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def audited(
    request: pytest.FixtureRequest, shared_registries: MockRegistries
) -> AsyncIterator[GatewayServer]:
    """A gateway whose access log is in a store of its own (SQLite file or PostgreSQL schema)."""
    # The run's data directory (its development-issuer key signs the tests' tokens), and an
    # access log of this module's own.
    base = settings_for(shared_registries)
    if request.param == "sqlite":
        audit = AuditSettings(sqlite_file=f"audit-{new_schema()}.sqlite3")
        settings = base.model_copy(update={"audit": audit})
        async with serve(settings) as server:
            yield server
        return
    dsn = await require_postgres()
    schema = new_schema()
    audit = AuditSettings.model_validate({"postgres_dsn": dsn, "postgres_schema": schema})
    settings = base.model_copy(update={"audit": audit})
    try:
        async with serve(settings) as server:
            yield server
    finally:
        await drop_schema(dsn, schema)


@pytest.fixture
def gw(audited: GatewayServer, registries: MockRegistries) -> GatewayServer:
    """The audited gateway, in front of mocks this test gets fresh."""
    return audited


async def _as(
    gw: GatewayServer,
    persona: str,
    query: str,
    variables: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    return await gw.graphql(query, variables, headers=headers, persona=persona)


def _codes(body: dict[str, Any]) -> dict[tuple[str, ...], str]:
    return {
        tuple(str(p) for p in e.get("path") or ()): e["extensions"]["code"]
        for e in body.get("errors") or []
    }


async def _officer_log(gw: GatewayServer, nin: str, **variables: Any) -> list[dict[str, Any]]:
    body = await _as(gw, "privacy-officer", LOG_QUERY, {"nin": nin, **variables})
    assert body.get("errors") is None, body.get("errors")
    entries: list[dict[str, Any]] = body["data"]["accessLog"]["entries"]
    return entries


async def test_a_nurses_summary_read_is_in_the_patients_own_log_with_her_name_and_organisation(
    gw: GatewayServer,
) -> None:
    body = await _as(gw, "home-care-nurse", summary_query(), {"nin": ELDERLY.nin})
    assert body.get("errors") is None
    log = await _as(gw, "patient", LOG_QUERY, {"nin": ELDERLY.nin})
    assert log.get("errors") is None, log.get("errors")
    entry = log["data"]["accessLog"]["entries"][0]
    assert entry["actorName"] == "Lene Bråten"
    assert entry["organisationName"] == "Lillehammer kommune, hjemmetjenesten"
    assert entry["basis"] == "CONSENT"
    assert entry["emergency"] is False
    assert set(entry["sections"]) == set(SECTIONS)
    # The patient's view is the summarised one.
    assert entry["hprNumber"] is None and entry["fields"] is None and entry["requestId"] is None


async def test_every_section_read_is_logged_with_its_outcome(gw: GatewayServer) -> None:
    await _as(gw, "home-care-gp", summary_query(), {"nin": ELDERLY.nin})
    entry = (await _officer_log(gw, ELDERLY.nin, hpr="1282389"))[0]
    outcomes = {f["field"]: f["outcome"] for f in entry["fields"]}
    assert outcomes == {"patient": "GRANTED", **dict.fromkeys(SECTIONS, "GRANTED")}
    assert entry["hprNumber"] == "1282389"
    assert entry["clientName"] == "Demo EPJ"
    assert entry["purpose"] == "TREAT" and entry["basis"] == "EXCEPTION"


async def test_reading_the_log_is_itself_logged(gw: GatewayServer) -> None:
    await _as(gw, "patient", LOG_QUERY, {"nin": ELDERLY.nin})
    entries = await _officer_log(gw, ELDERLY.nin)
    assert entries[0]["sections"] == ["accessLog"]
    assert entries[0]["actorName"] == "Astrid Marie Haugen"


async def test_a_reserved_patient_has_no_record_and_nothing_is_fetched_but_the_privacy_check(
    gw: GatewayServer, registries: MockRegistries
) -> None:
    body = await _as(gw, "home-care-gp", summary_query(), {"nin": RESERVED.nin})
    assert body["data"] == {"patient": None}
    assert _codes(body) == {("patient",): "RESERVED"}
    # The privacy check: the core record's Patient id for the number (unless still known from
    # an earlier request), then its Consents. No other registry hears the number.
    asked = registries.stats(Source.CORE_RECORD).by_resource_type
    assert asked.keys() <= {"Patient", "Consent"} and asked["Consent"] == 1
    assert all(registries.stats(s).total == 0 for s in Source if s is not Source.CORE_RECORD)
    entry = (await _officer_log(gw, RESERVED.nin))[0]
    assert entry["fields"] == [
        {"field": "patient", "outcome": "DENIED", "code": "RESERVED",
         "restrictedOpened": False, "fromCache": False}
    ]  # fmt: skip
    assert entry["granted"] is False


async def test_a_block_holds_even_when_the_blocked_doctor_breaks_the_glass(
    gw: GatewayServer, registries: MockRegistries
) -> None:
    btg = {"X-Purpose-Of-Use": "BTG", "X-BTG-Reason": "unconscious on arrival"}
    body = await _as(gw, "blocked-doctor", summary_query(), {"nin": BLOCKING.nin}, btg)
    assert body["data"] == {"patient": None}
    assert _codes(body) == {("patient",): "BLOCKED"}
    assert all(registries.stats(s).total == 0 for s in Source if s is not Source.CORE_RECORD)
    # A colleague is not blocked.
    other = await _as(gw, "emergency-doctor", summary_query(), {"nin": BLOCKING.nin})
    assert other["data"]["patient"]["medications"]["status"] == "COMPLETE"
    status = await _as(gw, "blocked-doctor", STATUS, {"nin": BLOCKING.nin})
    assert status["data"]["patientStatus"]["blockedForMe"] is True
    assert BLOCKED_HPR_NUMBER  # the persona's HPR number is the one the patient blocked


async def test_restricted_sections_are_withheld_without_consent_and_never_fetched(
    gw: GatewayServer, registries: MockRegistries
) -> None:
    body = await _as(gw, "home-care-gp", summary_query(), {"nin": RESTRICTED.nin})
    patient = body["data"]["patient"]
    for name, data_field in (("documents", "documents"), ("labResults", "reports")):
        assert patient[name]["status"] == "RESTRICTED"
        assert patient[name]["emptyReason"] == "WITHHELD"
        assert patient[name][data_field] is None
        assert _codes(body)[("patient", name, data_field)] == "RESTRICTED"
    assert registries.stats(Source.DOCUMENTS).total == 0
    assert registries.stats(Source.LAB_RESULTS).total == 0
    assert patient["medications"]["status"] == "COMPLETE"
    fields = {f["field"]: f for f in (await _officer_log(gw, RESTRICTED.nin))[0]["fields"]}
    assert fields["documents"]["outcome"] == "DENIED"
    assert fields["documents"]["code"] == "RESTRICTED"


async def test_consent_opens_a_restricted_section_and_the_opening_is_flagged(
    gw: GatewayServer,
) -> None:
    consent = {"nhn-access-basis": "SAMTYKKE"}
    body = await _as(gw, "home-care-gp", summary_query(), {"nin": RESTRICTED.nin}, consent)
    assert body["data"]["patient"]["documents"]["status"] == "COMPLETE"
    entry = (await _officer_log(gw, RESTRICTED.nin))[0]
    assert entry["restrictedOpened"] is True
    opened = {f["field"] for f in entry["fields"] if f["restrictedOpened"]}
    assert opened == {"documents", "labResults"}
    mine = await _as(gw, "patient", LOG_QUERY, {"nin": ELDERLY.nin})
    assert mine.get("errors") is None


async def test_a_pharmacist_sees_medications_and_critical_information_only(
    gw: GatewayServer, registries: MockRegistries
) -> None:
    body = await _as(gw, "pharmacist", summary_query(), {"nin": ELDERLY.nin})
    patient = body["data"]["patient"]
    for name in ("medications", "criticalInformation", "demographics", "generalPractitioner"):
        assert patient[name]["status"] == "COMPLETE", name
    for name in ("documents", "labResults", "visitHistory", "ownRegistrations"):
        assert patient[name]["status"] == "FORBIDDEN", name
    for source in (Source.DOCUMENTS, Source.LAB_RESULTS, Source.VISIT_HISTORY):
        assert registries.stats(source).total == 0, source
    assert set(_codes(body).values()) == {"FORBIDDEN"}


async def test_a_patient_sees_their_own_summary_without_documents_and_nobody_elses(
    gw: GatewayServer,
) -> None:
    own = await _as(gw, "patient", summary_query(), {"nin": ELDERLY.nin})
    assert own["data"]["patient"]["medications"]["status"] == "COMPLETE"
    assert own["data"]["patient"]["documents"]["status"] == "FORBIDDEN"
    other = await _as(gw, "patient", summary_query(), {"nin": RESTRICTED.nin})
    assert other["data"] == {"patient": None}
    assert _codes(other) == {("patient",): "FORBIDDEN"}
    theirs = await _as(gw, "patient", LOG_QUERY, {"nin": RESTRICTED.nin})
    assert theirs["data"] is None and set(_codes(theirs).values()) == {"FORBIDDEN"}


async def test_a_privacy_officer_reads_logs_but_gets_no_summary(gw: GatewayServer) -> None:
    body = await _as(gw, "privacy-officer", summary_query(), {"nin": ELDERLY.nin})
    assert body["data"] == {"patient": None}
    assert _codes(body) == {("patient",): "FORBIDDEN"}
    clinician_log = await _as(gw, "home-care-gp", LOG_QUERY, {"nin": ELDERLY.nin})
    assert set(_codes(clinician_log).values()) == {"FORBIDDEN"}


async def test_break_the_glass_raises_an_alert_that_holds_no_patient_data(
    gw: GatewayServer,
) -> None:
    btg = {"X-Purpose-Of-Use": "BTG", "nhn-access-basis": "AKUTT", "X-BTG-Reason": "collapsed"}
    body = await _as(gw, "pharmacist", summary_query(), {"nin": ELDERLY.nin}, btg)
    assert body["data"]["patient"]["documents"]["status"] == "COMPLETE", "BTG opens everything"
    alerts = await _as(gw, "privacy-officer", ALERTS, {})
    alert = alerts["data"]["privacyAlerts"]["alerts"][0]
    assert alert["hprNumber"] == "9144904" and alert["purpose"] == "BTG"
    assert "Break-the-glass" in alert["text"]
    for secret in (ELDERLY.nin, *ELDERLY.name.split(), "collapsed"):
        assert secret not in str(alert), secret
    entry = (await _officer_log(gw, ELDERLY.nin, emergencyOnly=True))[0]
    assert entry["emergency"] is True and entry["btgReason"] == "collapsed"
    clinician_alerts = await _as(gw, "home-care-gp", ALERTS, {})
    assert set(_codes(clinician_alerts).values()) == {"FORBIDDEN"}


async def test_break_the_glass_without_a_reason_is_refused_and_fetches_nothing(
    gw: GatewayServer, registries: MockRegistries
) -> None:
    btg = {"X-Purpose-Of-Use": "BTG", "nhn-access-basis": "AKUTT"}
    body = await _as(gw, "emergency-doctor", summary_query(), {"nin": ELDERLY.nin}, btg)
    assert _codes(body) == {("patient",): "FORBIDDEN"}
    assert "reason" in body["errors"][0]["message"]
    assert all(registries.stats(s).total == 0 for s in Source)


async def test_patient_status_answers_cheaply_and_is_not_logged(
    gw: GatewayServer, registries: MockRegistries
) -> None:
    before = await _officer_log(gw, RESTRICTED.nin, first=100)
    body = await _as(gw, "home-care-nurse", STATUS, {"nin": RESTRICTED.nin})
    assert body["data"]["patientStatus"] == {
        "reserved": False,
        "restrictedSections": ["documents", "labResults"],
        "blockedForMe": False,
    }
    reserved = await _as(gw, "home-care-nurse", STATUS, {"nin": RESERVED.nin})
    assert reserved["data"]["patientStatus"]["reserved"] is True
    asked = registries.stats(Source.CORE_RECORD).by_resource_type
    assert asked.keys() <= {"Patient", "Consent"} and asked["Consent"] == 2
    after = await _officer_log(gw, RESTRICTED.nin, first=100)
    # Only the officer's own two reads of the log were added, not the status check.
    assert len(after) == len(before) + 1
    assert after[0]["sections"] == ["accessLog"]


async def test_the_log_pages_newest_first_and_filters_by_actor(gw: GatewayServer) -> None:
    nin = fixture("covid-tested").nin
    query = "query($nin: NationalIdentityNumber!) { patient(nin: $nin) { medications { status } } }"
    for persona in ("home-care-gp", "nursing-home-doctor", "home-care-gp"):
        await _as(gw, persona, query, {"nin": nin})
    first = await _as(gw, "privacy-officer", LOG_QUERY, {"nin": nin, "first": 2})
    page = first["data"]["accessLog"]
    assert page["hasNextPage"] is True
    assert [e["hprNumber"] for e in page["entries"]] == ["1282389", "9144903"]
    rest = await _as(
        gw, "privacy-officer", LOG_QUERY, {"nin": nin, "first": 2, "after": page["endCursor"]}
    )
    older = [e["hprNumber"] for e in rest["data"]["accessLog"]["entries"]]
    assert older[0] == "1282389"
    only_nora = await _officer_log(gw, nin, hpr="9144903")
    assert {e["actorName"] for e in only_nora} == {"Nora Lie"}


async def test_the_writes_of_concurrent_requests_share_commits_and_all_land(
    gw: GatewayServer,
) -> None:
    nin = fixture("minimal").nin
    query = "query($nin: NationalIdentityNumber!) { patient(nin: $nin) { medications { status } } }"
    bodies = await asyncio.gather(
        *(_as(gw, "home-care-gp", query, {"nin": nin}) for _ in range(20))
    )
    assert all(b.get("errors") is None for b in bodies)
    entries = await _officer_log(gw, nin, first=100)
    assert sum(1 for e in entries if e["sections"] == ["medications"]) >= 20


DOCUMENT_QUERY = """query($nin: NationalIdentityNumber!, $id: ID!) {
  patient(nin: $nin) { document(id: $id) { id title contentType sizeBytes text dataBase64 } } }"""
LIST_DOCUMENTS = """query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) { documents { documents { id sizeBytes contentType } } } }"""


async def test_opening_a_document_reads_its_content_and_the_patient_sees_only_that_one_was_opened(
    gw: GatewayServer, registries: MockRegistries
) -> None:
    listed = await _as(gw, "home-care-gp", LIST_DOCUMENTS, {"nin": ELDERLY.nin})
    document = listed["data"]["patient"]["documents"]["documents"][0]
    registries.reset_stats()
    body = await _as(gw, "home-care-gp", DOCUMENT_QUERY, {"nin": ELDERLY.nin, "id": document["id"]})
    assert body.get("errors") is None, body.get("errors")
    content = body["data"]["patient"]["document"]
    assert content["id"] == document["id"]
    assert content["contentType"] == document["contentType"]
    assert content["sizeBytes"] == document["sizeBytes"]
    assert (content["text"] is None) != (content["dataBase64"] is None)
    assert registries.stats(Source.DOCUMENTS).by_resource_type.get("Binary") == 1
    own = await _as(gw, "patient", LOG_QUERY, {"nin": ELDERLY.nin})
    entry = own["data"]["accessLog"]["entries"][0]
    assert entry["sections"] == ["document"]
    assert document["id"] not in str(own), "the patient sees that a document was opened, not which"
    officer = (await _officer_log(gw, ELDERLY.nin))[1]  # [0] is the patient's read of the log
    assert [f["field"] for f in officer["fields"]] == ["patient", f"document:{document['id']}"]


async def test_a_document_id_the_patient_does_not_have_is_null_and_nothing_is_fetched_for_it(
    gw: GatewayServer, registries: MockRegistries
) -> None:
    other = await _as(
        gw,
        "home-care-gp",
        LIST_DOCUMENTS,
        {"nin": RESTRICTED.nin},
        {"nhn-access-basis": "SAMTYKKE"},
    )
    foreign = other["data"]["patient"]["documents"]["documents"][0]["id"]
    registries.reset_stats()
    body = await _as(gw, "home-care-gp", DOCUMENT_QUERY, {"nin": ELDERLY.nin, "id": foreign})
    assert body["data"]["patient"]["document"] is None
    assert "Binary" not in registries.stats(Source.DOCUMENTS).by_resource_type
    fields = (await _officer_log(gw, ELDERLY.nin))[0]["fields"]
    assert fields[-1]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("persona", "nin", "code"),
    [
        ("pharmacist", ELDERLY.nin, "FORBIDDEN"),
        ("patient", ELDERLY.nin, "FORBIDDEN"),
        ("home-care-gp", RESTRICTED.nin, "RESTRICTED"),
    ],
)
async def test_a_document_is_not_opened_for_a_caller_who_may_not_see_documents(
    gw: GatewayServer, registries: MockRegistries, persona: str, nin: str, code: str
) -> None:
    body = await _as(gw, persona, DOCUMENT_QUERY, {"nin": nin, "id": "any-id"})
    assert body["data"]["patient"]["document"] is None
    assert _codes(body) == {("patient", "document"): code}
    assert registries.stats(Source.DOCUMENTS).total == 0
