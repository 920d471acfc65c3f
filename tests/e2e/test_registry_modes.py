"""The gateway against registries in each server mode (mocks/modes.py), over real HTTP.

A registry that answers with other patients' data is refused every time (SOURCE_WRONG_PATIENT)
and nothing of that data reaches the response; plain R4 servers (references by id, the
``:identifier`` modifier finding nothing) give the same summary as the dialect; a filter a
server ignores is SOURCE_FILTER_IGNORED; a server ignoring ``_include`` must not give a section
that looks COMPLETE with data missing (lab results are searched for, the GP section is refused).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from mocks import core_record, documents, gp_registry, lab_results, prescriptions, visit_history
from mocks.faults import Fault, FaultKind
from mocks.fixtures import fixture
from mocks.modes import Mode, ServerMode
from mocks.population import Population
from mocks.record import owner_of
from mocks.runner import MockRegistries
from mocks.search import SearchSpec
from mocks.sources import Source
from resolvers.examples import summary_query
from tests.conftest import GatewayServer, serve, settings_for, strip_timing
from tests.mocks.fhir_client import entries, get_json, search_pages, token

PATIENTS = ["covid-tested", "home-care-elderly", "critical-allergies"]

# The summary's sections each registry feeds.
SECTIONS_OF: dict[Source, tuple[str, ...]] = {
    Source.PRESCRIPTIONS: ("medications",),
    Source.GP_REGISTRY: ("generalPractitioner",),
    Source.VISIT_HISTORY: ("visitHistory",),
    Source.DOCUMENTS: ("documents",),
    Source.LAB_RESULTS: ("labResults",),
    Source.CORE_RECORD: ("demographics", "criticalInformation", "ownRegistrations"),
}
SEARCHES_OF: dict[Source, tuple[SearchSpec, ...]] = {
    Source.PRESCRIPTIONS: prescriptions.SEARCHES,
    Source.GP_REGISTRY: gp_registry.SEARCHES,
    Source.VISIT_HISTORY: visit_history.SEARCHES,
    Source.DOCUMENTS: documents.SEARCHES,
    Source.LAB_RESULTS: lab_results.SEARCHES,
    Source.CORE_RECORD: core_record.SEARCHES,
}
CONSENT = {"nhn-access-basis": "SAMTYKKE"}
"""On the patient's consent, so that restricted sections open and can be compared too."""


@pytest.fixture
async def modes(registries: MockRegistries) -> AsyncIterator[MockRegistries]:
    """The run's registries, whose modes a test may switch: all back to the dialect after it,
    whatever happened."""
    try:
        yield registries
    finally:
        registries.reset_mode()


async def _summary(gateway: GatewayServer, nin: str) -> dict[str, Any]:
    return await gateway.graphql(summary_query(), {"nin": nin}, headers=CONSENT)


def _codes(body: dict[str, Any]) -> dict[tuple[str | int, ...], str]:
    return {
        tuple(error["path"]): error["extensions"]["code"]
        for error in body.get("errors") or []
        if "extensions" in error
    }


def _comparable(patient: dict[str, Any]) -> dict[str, Any]:
    """The summary without times, durations and the order the searches happened to end in."""
    stripped: dict[str, Any] = strip_timing(patient)
    stripped["sources"] = sorted(
        stripped["sources"], key=lambda s: (s["source"], s["resourceType"])
    )
    return stripped


async def _foreign_traces(
    session: aiohttp.ClientSession,
    registries: MockRegistries,
    population: Population,
    source: Source,
    nin: str,
) -> set[str]:
    """What would show another patient's data in a response: the numbers, names and resource
    ids of every other patient whose data ``source``, in its current mode, sends for ``nin``
    (asked as the gateway asks, and read off the wire)."""
    base = registries.base_urls[source]
    _, bound = await get_json(session, f"{base}/Patient", [("identifier", token(nin))])
    own = {p["id"] for p in entries(bound) if p["identifier"][0]["value"] == nin}
    assert len(own) == 1
    (own_id,) = own
    owners: set[str] = set()
    for spec in (SearchSpec("Patient", "identifier"), *SEARCHES_OF[source]):
        if spec.resource_type == "Patient":
            params = [("identifier", token(nin))]
        else:
            params = [(spec.reference_param, f"Patient/{own_id}")]
        params += [("_include", name) for name in spec.includes]
        params += [("_include:iterate", name) for name in spec.iterate_includes]
        pages = await search_pages(session, f"{base}/{spec.resource_type}", params)
        for page in pages:
            for entry in page.get("entry", []):
                resource = entry["resource"]
                if resource["resourceType"] == "Patient":
                    owners.add(resource["id"])
                elif "-" in resource["id"] and not resource["id"].startswith(("hpr-", "org-")):
                    owners.add(owner_of(resource["id"]))
    owners.discard(own_id)
    assert owners, f"{source} in its mode sent no other patient's data for {nin}"
    traces: set[str] = set()
    for patient_id in owners:
        record = population.record_by_patient_id(patient_id)
        assert record is not None, patient_id
        name = record.of_type("Patient")[0]["name"][0]
        traces |= {
            record.nin,
            " ".join([*name["given"], name["family"]]),
            f'"{patient_id}"',
            f'"{patient_id}-',
        }
    return traces


@pytest.mark.parametrize("bound", [False, True], ids=["cold", "bound"])
@pytest.mark.parametrize("key", PATIENTS)
@pytest.mark.parametrize("source", list(Source))
async def test_a_registry_answering_with_other_patients_is_refused_and_shows_none_of_them(
    modes: MockRegistries, population: Population, source: Source, key: str, bound: bool
) -> None:
    """``cold``: the gateway first binds the patient against the wrong-patient registry (its
    Patient search already holds another Patient). ``bound``: the patient was bound before the
    registry went wrong, so the data search itself is what must be refused."""
    nin = fixture(key).nin
    async with serve(settings_for(modes)) as gateway, aiohttp.ClientSession() as session:
        if bound:
            before = await _summary(gateway, nin)
            assert before.get("errors") is None, before.get("errors")
        modes.set_mode(Mode.WRONG_PATIENT, source)
        modes.reset_stats()
        body = await _summary(gateway, nin)
        patient_searches = modes.stats(source).by_resource_type.get("Patient", 0)
        traces = await _foreign_traces(session, modes, population, source, nin)

    text = orjson.dumps(body).decode()
    assert not {t for t in traces if t in text}, "another patient's data reached the response"
    codes = _codes(body)
    if source is Source.CORE_RECORD:
        # The core record decides whether the patient exists and which sections they closed:
        # refusing it refuses the patient, fail closed.
        assert body["data"] == {"patient": None}
        assert codes == {("patient",): "SOURCE_WRONG_PATIENT"}
        return
    patient = body["data"]["patient"]
    for section, value in patient.items():
        if not isinstance(value, dict) or "status" not in value:
            continue
        if section in SECTIONS_OF[source]:
            assert value["status"] == "UNAVAILABLE", section
        else:
            assert value["status"] == "COMPLETE", section
    assert set(codes.values()) == {"SOURCE_WRONG_PATIENT"}
    assert {path[1] for path in codes} == set(SECTIONS_OF[source])
    failed = {(s["source"], s["errorCode"]) for s in patient["sources"] if s["status"] != "OK"}
    assert failed == {(source.name, "SOURCE_WRONG_PATIENT")}
    if bound and source is not Source.GP_REGISTRY:
        # The binding was kept: no Patient search, the data search itself was refused.
        assert patient_searches == 0


@pytest.mark.parametrize("mode", [Mode.STANDARD, Mode.STRICT])
@pytest.mark.parametrize("key", [*PATIENTS, "no-gp", "blocked-hpr", "many-medicines"])
async def test_plain_r4_registries_give_the_same_summary_as_the_dialect(
    modes: MockRegistries, gateway: GatewayServer, key: str, mode: Mode
) -> None:
    nin = fixture(key).nin
    dialect = await _summary(gateway, nin)
    modes.set_mode(mode)
    plain = await _summary(gateway, nin)
    assert dialect.get("errors") is None and plain.get("errors") is None, plain.get("errors")
    assert _comparable(plain["data"]["patient"]) == _comparable(dialect["data"]["patient"])
    statuses = {
        v["status"]
        for v in plain["data"]["patient"].values()
        if isinstance(v, dict) and "status" in v
    }
    assert statuses == {"COMPLETE"}


async def test_an_ignored_date_filter_on_encounters_is_refused_and_no_old_visit_shows(
    modes: MockRegistries, gateway: GatewayServer, population: Population
) -> None:
    key = "home-care-elderly"
    record = population.record(fixture(key).nin)
    assert record is not None
    old = [e["id"] for e in record.of_type("Encounter") if e["period"]["start"] < "2008"]
    assert old, "the fixture has visits before 2008 to leak"
    modes.set_mode(ServerMode.of(Mode.STANDARD, ["date"]), Source.VISIT_HISTORY)
    body = await _summary(gateway, fixture(key).nin)
    assert _codes(body) == {("patient", "visitHistory", "visits"): "SOURCE_FILTER_IGNORED"}
    patient = body["data"]["patient"]
    assert patient["visitHistory"]["status"] == "UNAVAILABLE"
    assert patient["medications"]["status"] == "COMPLETE"
    text = orjson.dumps(body).decode()
    assert not [visit for visit in old if f'"{visit}"' in text]


async def test_an_ignored_status_filter_on_consents_refuses_the_patient(
    modes: MockRegistries, gateway: GatewayServer
) -> None:
    """Privacy settings read without their filter are not trusted: the patient is refused
    (fail closed), not shown with settings that may be wrong."""
    modes.set_mode(ServerMode.of(Mode.STANDARD, ["status"]), Source.CORE_RECORD)
    body = await _summary(gateway, fixture("blocked-hpr").nin)
    assert body["data"] == {"patient": None}
    assert _codes(body) == {("patient",): "SOURCE_FILTER_IGNORED"}


async def test_a_gp_registry_ignoring_include_has_the_gp_read_by_id(
    modes: MockRegistries, gateway: GatewayServer
) -> None:
    """Without the included GP relation, GP and office the gateway reads each by id: the
    section is the dialect's, whole, never COMPLETE with half a GP."""
    nin = fixture("covid-tested").nin
    dialect = await _summary(gateway, nin)
    assert dialect["data"]["patient"]["generalPractitioner"]["regularGp"] is not None
    modes.set_mode(Mode.NO_INCLUDE, Source.GP_REGISTRY)
    modes.reset_stats()
    body = await _summary(gateway, nin)
    gp = body["data"]["patient"]["generalPractitioner"]
    assert gp["status"] == "COMPLETE"
    assert strip_timing(gp) == strip_timing(dialect["data"]["patient"]["generalPractitioner"])
    asked = modes.stats(Source.GP_REGISTRY).by_resource_type
    # The relation, then the GP and the office at once: each read by id.
    assert (asked["PractitionerRole"], asked["Practitioner"], asked["Organization"]) == (1, 1, 1)


async def test_a_gp_the_registry_cannot_read_is_refused_not_half_shown(
    modes: MockRegistries, gateway: GatewayServer
) -> None:
    """A GP named but neither included nor readable (its read fails): the section is refused."""
    nin = fixture("covid-tested").nin
    modes.set_mode(Mode.NO_INCLUDE, Source.GP_REGISTRY)
    await modes.set_fault(
        Source.GP_REGISTRY, Fault(FaultKind.HTTP_500, resource_types=frozenset({"Practitioner"}))
    )
    try:
        body = await _summary(gateway, nin)
    finally:
        await modes.clear_fault(Source.GP_REGISTRY)
    gp = body["data"]["patient"]["generalPractitioner"]
    assert gp["status"] == "UNAVAILABLE" and gp["regularGp"] is None
    assert _codes(body) == {("patient", "generalPractitioner", "regularGp"): "SOURCE_UNAVAILABLE"}


@pytest.mark.parametrize("key", ["covid-tested", "home-care-elderly"])
async def test_registries_ignoring_include_leave_the_other_sections_as_they_were(
    modes: MockRegistries, gateway: GatewayServer, key: str
) -> None:
    nin = fixture(key).nin
    dialect = (await _summary(gateway, nin))["data"]["patient"]
    modes.set_mode(Mode.NO_INCLUDE)
    patient = (await _summary(gateway, nin))["data"]["patient"]
    # Prescriptions name their medicine inline (medicationCodeableConcept), so an ignored
    # _include=MedicationRequest:medication loses nothing.
    for section in ("demographics", "criticalInformation", "medications", "visitHistory"):
        assert strip_timing(patient[section]) == strip_timing(dialect[section]), section


@pytest.mark.parametrize("key", ["covid-tested", "home-care-elderly"])
async def test_a_lab_registry_ignoring_include_still_gives_every_result(
    modes: MockRegistries, gateway: GatewayServer, population: Population, key: str
) -> None:
    """The results that did not come with ``_include=DiagnosticReport:result`` are searched
    for: the section is the dialect's, COMPLETE with every result, never reports without."""
    record = population.record(fixture(key).nin)
    assert record is not None
    expected = sum(len(r["result"]) for r in record.of_type("DiagnosticReport"))
    dialect = (await _summary(gateway, fixture(key).nin))["data"]["patient"]["labResults"]
    modes.set_mode(Mode.NO_INCLUDE, Source.LAB_RESULTS)
    modes.reset_stats()
    labs = (await _summary(gateway, fixture(key).nin))["data"]["patient"]["labResults"]
    shown = sum(len(report["results"]) for report in labs["reports"])
    assert (labs["status"], shown) == ("COMPLETE", expected)
    assert strip_timing(labs) == strip_timing(dialect)
    assert modes.stats(Source.LAB_RESULTS).by_resource_type.get("Observation", 0) >= 1
