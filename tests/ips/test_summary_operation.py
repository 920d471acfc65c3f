"""``Patient/$summary`` over HTTP: the same rules as GraphQL, errors as OperationOutcome, sections
that say when they are withheld, unavailable or stale, and every read in the access log."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator

import pytest

from gateway.identity import InvalidIdentityNumber, check_digits
from gateway.settings import AuditSettings
from mocks.faults import Fault, FaultKind
from mocks.fixtures import fixture, fixture_by_nin
from mocks.population import Population
from mocks.runner import MockRegistries
from mocks.sources import Source
from tests.conftest import RESILIENCE_ON, GatewayServer, serve, settings_for
from tests.ips.support import (
    CONSENT,
    D_NUMBER_SYSTEM,
    DOCUMENTS,
    MEDICATIONS,
    NIN_SYSTEM,
    RESULTS,
    SECTION_STALE_AGE,
    SUMMARY,
    VISITS,
    empty_reason,
    error_code,
    fetch_document,
    outcome_of,
    section_resources,
    sections,
    status,
)

ELDERLY = fixture("home-care-elderly")
RESTRICTED = fixture("restricted-sections")
RESERVED = fixture("reserved")
BLOCKING = fixture("blocked-hpr")
LOG_QUERY = """
query($nin: NationalIdentityNumber!) {
  accessLog(nin: $nin, first: 5) {
    entries { actorName sections granted fields { field outcome code } }
  }
}
"""


def _synthetic_numbers() -> Iterator[str]:
    """Valid synthetic fødselsnumre born on 31 December 1899 (individual numbers 500-749 were
    given to births 1854-1899), which no generated patient has."""
    for individual in range(500, 750):
        first_nine = f"311289{individual}"
        try:
            yield first_nine + check_digits(first_nine)
        except InvalidIdentityNumber:
            continue


async def test_no_token_is_401_with_an_operation_outcome(gateway: GatewayServer) -> None:
    code, body = await fetch_document(gateway, ELDERLY.nin, persona=None)
    assert (code, error_code(body)) == (401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("15828512338", "check digits"),
        (f"{D_NUMBER_SYSTEM}|{ELDERLY.nin}", "a fødselsnummer under the D-number system"),
        (f"urn:oid:1.2.3|{ELDERLY.nin}", "an unknown system"),
        (f"{NIN_SYSTEM}|{ELDERLY.nin}\n", "a trailing newline"),
    ],
)
async def test_a_bad_identifier_is_400_and_never_echoed(
    gateway: GatewayServer, token: str, why: str
) -> None:
    async with gateway.session.get(
        f"{gateway.url}{SUMMARY}", params={"identifier": token}
    ) as response:
        body = await response.json(content_type=None)
    assert response.status == 400, why
    assert error_code(body) == "BAD_USER_INPUT"
    assert token.rpartition("|")[2].strip() not in str(body), "the number is never echoed"


@pytest.mark.parametrize(
    "params",
    [
        {"identifier": f"{NIN_SYSTEM}|{ELDERLY.nin}", "_count": "1"},
        {"identifier": f"{NIN_SYSTEM}|{ELDERLY.nin}", "profile": "http://example.org/x"},
        {},
    ],
)
async def test_a_parameter_the_gateway_would_not_apply_is_refused(
    gateway: GatewayServer, params: dict[str, str]
) -> None:
    async with gateway.session.get(f"{gateway.url}{SUMMARY}", params=params) as response:
        body = await response.json(content_type=None)
    assert response.status == 400
    assert error_code(body) == "BAD_USER_INPUT"


async def test_an_unknown_patient_is_404(gateway: GatewayServer, population: Population) -> None:
    nin = next(n for n in _synthetic_numbers() if population.index_of(n) is None)
    assert fixture_by_nin(nin) is None
    code, body = await fetch_document(gateway, nin)
    assert code == 404
    assert error_code(body) == "NOT_FOUND"


async def test_a_reserved_patient_and_a_blocked_caller_get_403_and_nothing_else(
    gateway: GatewayServer,
) -> None:
    code, body = await fetch_document(gateway, RESERVED.nin)
    assert (code, error_code(body)) == (403, "RESERVED")
    blocked = {"nhn-access-basis": "AKUTT", "X-Purpose-Of-Use": "ETREAT"}
    code, body = await fetch_document(
        gateway, BLOCKING.nin, persona="blocked-doctor", headers=blocked
    )
    assert (code, error_code(body)) == (403, "BLOCKED")
    assert BLOCKING.name.split()[-1] not in str(body)


async def test_restricted_sections_are_withheld_and_never_fetched_without_consent(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    code, document = await fetch_document(gateway, RESTRICTED.nin)
    assert code == 200
    by_code = sections(document)
    for withheld in (DOCUMENTS, RESULTS):
        assert status(by_code[withheld]) == "restricted"
        assert empty_reason(by_code[withheld]) == "withheld"
        assert "entry" not in by_code[withheld]
        assert "Withheld" in by_code[withheld]["text"]["div"]
    assert registries.stats(Source.DOCUMENTS).total == 0
    assert registries.stats(Source.LAB_RESULTS).total == 0
    assert status(by_code[MEDICATIONS]) == "complete"
    composition = document["entry"][0]["resource"]
    assert composition["confidentiality"] == "N"

    code, document = await fetch_document(gateway, RESTRICTED.nin, headers=CONSENT)
    assert status(sections(document)[DOCUMENTS]) == "complete"
    assert section_resources(document, DOCUMENTS), "opened on consent"
    assert document["entry"][0]["resource"]["confidentiality"] == "R"


async def test_a_pharmacist_gets_forbidden_sections_withheld(gateway: GatewayServer) -> None:
    code, document = await fetch_document(
        gateway, ELDERLY.nin, persona="pharmacist", headers=CONSENT
    )
    assert code == 200
    by_code = sections(document)
    for code_ in (DOCUMENTS, RESULTS, VISITS):
        assert (status(by_code[code_]), empty_reason(by_code[code_])) == ("forbidden", "withheld")
    assert section_resources(document, MEDICATIONS)


async def test_an_unreachable_registry_makes_its_section_unavailable_and_names_it(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    await registries.set_fault(Source.VISIT_HISTORY, Fault(FaultKind.HTTP_500))
    code, document = await fetch_document(gateway, ELDERLY.nin)
    assert code == 200, "the other sections still arrive"
    visits = sections(document)[VISITS]
    assert (status(visits), empty_reason(visits)) == ("unavailable", "unavailable")
    assert "entry" not in visits
    outcome = outcome_of(document, visits)
    assert outcome is not None
    assert error_code(outcome) == "SOURCE_UNAVAILABLE"
    assert "NPR" in outcome["issue"][0]["details"]["text"]
    assert outcome["issue"][0]["severity"] == "error"
    assert status(sections(document)[MEDICATIONS]) == "complete"


async def test_a_stale_section_says_how_old_it_is(registries: MockRegistries) -> None:
    settings = settings_for(
        registries, **{**RESILIENCE_ON, "cache_ttl_s": 0, "stale_max_s": 60, "retries": 0}
    )
    async with serve(settings) as gateway:
        code, fresh = await fetch_document(gateway, ELDERLY.nin)
        assert status(sections(fresh)[MEDICATIONS]) == "complete"
        await registries.set_fault(Source.PRESCRIPTIONS, Fault(FaultKind.HTTP_503))
        code, stale = await fetch_document(gateway, ELDERLY.nin)
    assert code == 200
    medicines = sections(stale)[MEDICATIONS]
    assert status(medicines) == "stale"
    assert len(medicines["entry"]) == len(sections(fresh)[MEDICATIONS]["entry"])
    ages = [
        e["valueDuration"]["value"] for e in medicines["extension"] if e["url"] == SECTION_STALE_AGE
    ]
    assert len(ages) == 1 and ages[0] >= 0
    assert "Stale" in medicines["text"]["div"]
    outcome = outcome_of(stale, medicines)
    assert outcome is not None
    assert error_code(outcome) == "SOURCE_UNAVAILABLE"
    assert outcome["issue"][0]["severity"] == "warning"


async def test_post_with_parameters_gives_the_same_document(gateway: GatewayServer) -> None:
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "identifier", "valueIdentifier": {"system": NIN_SYSTEM, "value": ELDERLY.nin}}
        ],
    }
    async with gateway.session.post(
        f"{gateway.url}{SUMMARY}",
        data=json.dumps(parameters),
        headers={"Content-Type": "application/fhir+json"},
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/fhir+json")
        assert response.headers["Cache-Control"] == "no-store"
        posted = await response.json(content_type=None)
    code, got = await fetch_document(gateway, ELDERLY.nin)
    assert code == 200
    assert [len(s.get("entry", [])) for s in posted["entry"][0]["resource"]["section"]] == [
        len(s.get("entry", [])) for s in got["entry"][0]["resource"]["section"]
    ]
    async with gateway.session.post(
        f"{gateway.url}{SUMMARY}", data="identifier=x", headers={"Content-Type": "text/plain"}
    ) as response:
        assert response.status == 415
    async with gateway.session.get(
        f"{gateway.url}{SUMMARY}",
        params={"identifier": ELDERLY.nin},
        headers={"Accept": "application/fhir+xml"},
    ) as response:
        assert response.status == 406
    async with gateway.session.delete(f"{gateway.url}{SUMMARY}") as response:
        assert response.status == 405
        assert response.headers["Allow"] == "GET, POST"
        assert error_code(await response.json(content_type=None)) == "METHOD_NOT_ALLOWED"


async def test_the_document_fetch_is_in_the_patients_own_log(gateway: GatewayServer) -> None:
    code, _ = await fetch_document(gateway, ELDERLY.nin, persona="home-care-nurse")
    assert code == 200
    mine = await gateway.graphql(LOG_QUERY, {"nin": ELDERLY.nin}, persona="patient")
    entry = mine["data"]["accessLog"]["entries"][0]
    assert entry["actorName"] == "Lene Bråten"
    assert "summaryDocument" in entry["sections"]
    assert {"medications", "criticalInformation", "labResults"} <= set(entry["sections"])
    officer = await gateway.graphql(LOG_QUERY, {"nin": ELDERLY.nin}, persona="privacy-officer")
    # The newest entries are the log reads themselves; the nurse's fetch is the one by her.
    nurses = [e for e in officer["data"]["accessLog"]["entries"] if e["actorName"] == "Lene Bråten"]
    fields = {f["field"]: f["outcome"] for f in nurses[0]["fields"]}
    assert fields["summaryDocument"] == "GRANTED"
    assert fields["medicationList"] == "GRANTED"


async def test_no_access_log_record_no_document(registries: MockRegistries) -> None:
    audit = AuditSettings(sqlite_file=f"audit-{uuid.uuid4().hex}.sqlite3", write_timeout_s=0.5)
    settings = settings_for(registries).model_copy(update={"audit": audit})
    async with serve(settings) as gateway:
        blocker = sqlite3.connect(settings.data_dir / audit.sqlite_file, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            code, body = await fetch_document(gateway, ELDERLY.nin)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert (code, error_code(body)) == (503, "AUDIT_UNAVAILABLE")
        assert ELDERLY.name.split()[-1] not in str(body)
        code, body = await fetch_document(gateway, ELDERLY.nin)
        assert code == 200, "it serves again once it can log"


async def test_unreadable_privacy_settings_give_no_document(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    # The core record holds the privacy settings: without them there is no decision.
    await registries.set_fault(Source.CORE_RECORD, Fault(FaultKind.HTTP_500))
    code, body = await fetch_document(gateway, ELDERLY.nin)
    assert (code, error_code(body)) == (503, "SOURCE_UNAVAILABLE")
    assert registries.stats(Source.PRESCRIPTIONS).total == 0, "no registry heard the number"


async def test_a_hanging_registry_is_given_up_in_time_and_its_section_says_so(
    registries: MockRegistries,
) -> None:
    settings = settings_for(registries, request_deadline_s=2.0, timeout_s=30.0)
    await registries.set_fault(Source.LAB_RESULTS, Fault(FaultKind.HANG))
    async with serve(settings) as gateway:
        code, document = await fetch_document(gateway, ELDERLY.nin)
    assert code == 200, "the other sections arrive before the request's deadline"
    results = sections(document)[RESULTS]
    assert (status(results), empty_reason(results)) == ("unavailable", "unavailable")
    outcome = outcome_of(document, results)
    assert outcome is not None and error_code(outcome) == "SOURCE_TIMEOUT"
    assert status(sections(document)[MEDICATIONS]) == "complete"
