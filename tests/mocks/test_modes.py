"""The server modes over real HTTP: each mode answers as the server it imitates (mocks/modes.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import orjson
import pytest

from gateway.cli.main import _mock_modes
from mocks import MockRegistries, Population, Source, fixture
from mocks.modes import DIALECT, Mode, ServerMode
from mocks.runner import EPHEMERAL_PORTS
from tests.mocks.fhir_client import Json, Params, entries, get_json, search_pages, token

HOME_CARE = fixture("home-care-elderly")
COVID = fixture("covid-tested")


def _self_params(bundle: Json) -> list[tuple[str, str]]:
    url = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def _outcomes(bundle: Json) -> list[Json]:
    return entries(bundle, "outcome")


def _patient_refs(value: Any) -> list[dict[str, Any]]:
    """Every Reference-like object below ``value`` naming a Patient or carrying an identifier
    that is an identity number (what a patient reference is in either style)."""
    found: list[dict[str, Any]] = []
    if isinstance(value, list):
        for item in value:
            found += _patient_refs(item)
    elif isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str) and ref.startswith("Patient/"):
            found.append(value)
        for item in value.values():
            found += _patient_refs(item)
    return found


def _mentions(value: Any, text: str) -> bool:
    return text in orjson.dumps(value).decode()


async def _patient_id(session: aiohttp.ClientSession, base: str, nin: str) -> str:
    status, bundle = await get_json(session, f"{base}/Patient", [("identifier", token(nin))])
    assert status == 200, bundle
    (patient,) = entries(bundle)
    return str(patient["id"])


async def _all(session: aiohttp.ClientSession, url: str, params: Params) -> list[Json]:
    pages = await search_pages(session, url, [*params, ("_count", "100")])
    return [r for page in pages for r in entries(page)]


async def test_the_default_mode_is_the_dialect_and_rejects_unknown_parameters(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    assert all(registries.mode(source) == DIALECT for source in registries.sources)
    url = registries.base_urls[Source.PRESCRIPTIONS] + "/MedicationRequest"
    subject = ("subject:identifier", token(HOME_CARE.nin))
    status, bundle = await get_json(session, url, [subject])
    assert status == 200 and bundle["total"] > 0
    status, outcome = await get_json(session, url, [subject, ("frobnicate", "1")])
    assert status == 400 and outcome["resourceType"] == "OperationOutcome"


async def test_standard_writes_patient_references_by_id_and_leaves_the_stored_data_alone(
    registries: MockRegistries, session: aiohttp.ClientSession, population: Population
) -> None:
    registries.set_mode(Mode.STANDARD)
    base = registries.base_urls[Source.LAB_RESULTS]
    patient_id = await _patient_id(session, base, COVID.nin)
    status, bundle = await get_json(
        session,
        f"{base}/DiagnosticReport",
        [("subject", f"Patient/{patient_id}"), ("_include", "DiagnosticReport:result")],
    )
    assert status == 200
    reports, observations = entries(bundle), entries(bundle, "include")
    assert reports and observations
    for resource in (*reports, *observations):
        assert resource["subject"] == {"reference": f"Patient/{patient_id}"}
        assert not _mentions(resource, COVID.nin), "the identity number is nowhere"
    assert _outcomes(bundle) == []
    record = population.record(COVID.nin)
    assert record is not None
    stored = record.of_type("DiagnosticReport")[0]
    assert stored["subject"]["identifier"]["value"] == COVID.nin


async def test_standard_identifier_modifier_finds_nothing_but_chained_search_does(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    registries.set_mode(Mode.STANDARD, Source.PRESCRIPTIONS)
    url = registries.base_urls[Source.PRESCRIPTIONS] + "/MedicationRequest"
    status, bundle = await get_json(session, url, [("subject:identifier", token(HOME_CARE.nin))])
    assert (status, bundle["total"], bundle.get("entry")) == (200, 0, None)
    chained = await _all(session, url, [("subject:Patient.identifier", token(HOME_CARE.nin))])
    patient_id = await _patient_id(
        session, registries.base_urls[Source.PRESCRIPTIONS], HOME_CARE.nin
    )
    by_id = await _all(session, url, [("subject", f"Patient/{patient_id}")])
    assert [r["id"] for r in chained] == [r["id"] for r in by_id]
    assert len(by_id) > 60
    # The other registries still speak the dialect.
    other = registries.base_urls[Source.DOCUMENTS] + "/DocumentReference"
    status, documents = await get_json(
        session, other, [("subject:identifier", token(HOME_CARE.nin))]
    )
    assert status == 200 and documents["total"] > 0


async def test_standard_ignores_an_unknown_parameter_says_so_and_leaves_it_out_of_self(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    registries.set_mode(Mode.STANDARD, Source.PRESCRIPTIONS)
    base = registries.base_urls[Source.PRESCRIPTIONS]
    subject = ("subject", f"Patient/{await _patient_id(session, base, HOME_CARE.nin)}")
    url = f"{base}/MedicationRequest"
    _, plain = await get_json(session, url, [subject, ("_count", "100")])
    status, bundle = await get_json(
        session, url, [subject, ("frobnicate", "yes"), ("_count", "100")]
    )
    assert status == 200
    assert bundle["total"] == plain["total"]
    assert [r["id"] for r in entries(bundle)] == [r["id"] for r in entries(plain)]
    (outcome,) = _outcomes(bundle)
    (issue,) = outcome["issue"]
    assert outcome["resourceType"] == "OperationOutcome"
    assert issue["severity"] == "warning"
    assert "frobnicate" in issue["diagnostics"]
    names = [name for name, _ in _self_params(bundle)]
    assert "frobnicate" not in names
    assert "subject" in names and "_count" in names


async def test_a_parameter_the_server_does_not_know_is_ignored_in_standard_and_refused_else(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    base = registries.base_urls[Source.VISIT_HISTORY]
    url = f"{base}/Encounter"
    registries.set_mode(ServerMode.of(Mode.STANDARD, ["date"]), Source.VISIT_HISTORY)
    subject = ("subject", f"Patient/{await _patient_id(session, base, HOME_CARE.nin)}")
    _, everything = await get_json(session, url, [subject, ("_count", "0")])
    status, bundle = await get_json(
        session, url, [subject, ("date", "ge2008-01-01"), ("_count", "0")]
    )
    assert status == 200
    assert bundle["total"] == everything["total"], "the date filter was not applied"
    (outcome,) = _outcomes(bundle)
    assert "date" in outcome["issue"][0]["diagnostics"]
    assert "date" not in dict(_self_params(bundle))
    _, metadata = await get_json(session, f"{base}/metadata")
    (encounter,) = [r for r in metadata["rest"][0]["resource"] if r["type"] == "Encounter"]
    assert "date" not in {p["name"] for p in encounter["searchParam"]}

    for mode in (Mode.DIALECT, Mode.STRICT, Mode.NO_INCLUDE):
        registries.set_mode(ServerMode.of(mode, ["date"]), Source.VISIT_HISTORY)
        status, refused = await get_json(session, url, [subject, ("date", "ge2008-01-01")])
        assert status == 400, mode
        assert "date" in refused["issue"][0]["diagnostics"]


async def test_standard_consent_without_status_answers_every_consent(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    registries.set_mode(ServerMode.of(Mode.STANDARD, ["status"]), Source.CORE_RECORD)
    base = registries.base_urls[Source.CORE_RECORD]
    patient = ("patient", f"Patient/{await _patient_id(session, base, fixture('blocked-hpr').nin)}")
    status, bundle = await get_json(session, f"{base}/Consent", [patient, ("status", "draft")])
    assert status == 200
    assert bundle["total"] >= 1, "status=draft matches nothing; ignored, it matches everything"
    assert "status" in _outcomes(bundle)[0]["issue"][0]["diagnostics"]


async def test_no_include_drops_includes_silently(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    base = registries.base_urls[Source.LAB_RESULTS]
    params = [
        ("subject", f"Patient/{await _patient_id(session, base, COVID.nin)}"),
        ("_include", "DiagnosticReport:result"),
    ]
    _, dialect = await get_json(session, f"{base}/DiagnosticReport", params)
    registries.set_mode(Mode.NO_INCLUDE, Source.LAB_RESULTS)
    status, bundle = await get_json(session, f"{base}/DiagnosticReport", params)
    assert status == 200
    assert entries(dialect, "include"), "the dialect includes the results"
    assert [r["id"] for r in entries(bundle)] == [r["id"] for r in entries(dialect)]
    assert entries(bundle, "include") == []
    assert _outcomes(bundle) == []
    assert [name for name, _ in _self_params(bundle)] == ["subject"]
    # Patient references stay as the dialect writes them.
    assert entries(bundle)[0]["subject"]["identifier"]["value"] == COVID.nin

    gp = registries.base_urls[Source.GP_REGISTRY]
    registries.set_mode(Mode.NO_INCLUDE, Source.GP_REGISTRY)
    status, patients = await get_json(
        session,
        f"{gp}/Patient",
        [
            ("identifier", token(HOME_CARE.nin)),
            ("_include", "Patient:general-practitioner"),
            ("_include:iterate", "PractitionerRole:practitioner"),
        ],
    )
    assert status == 200
    assert entries(patients)[0]["generalPractitioner"]
    assert entries(patients, "include") == []
    assert [name for name, _ in _self_params(patients)] == ["identifier"]


def _next_with(population: Population, resource_type: str, after: int) -> str:
    """The number of the first generated patient after index ``after`` with ``resource_type``."""
    index = next(
        i
        for i in range(after + 1, population.size)
        if population.record_at(i).of_type(resource_type)
    )
    return population.nin(index)


async def test_wrong_patient_mixes_in_another_patient_and_echoes_every_parameter(
    registries: MockRegistries, session: aiohttp.ClientSession, population: Population
) -> None:
    base = registries.base_urls[Source.PRESCRIPTIONS]
    patient_id = await _patient_id(session, base, HOME_CARE.nin)
    registries.set_mode(Mode.WRONG_PATIENT, Source.PRESCRIPTIONS)
    params = [("subject", f"Patient/{patient_id}"), ("frobnicate", "1"), ("_count", "100")]
    status, bundle = await get_json(session, f"{base}/MedicationDispense", params)
    assert status == 200
    everything = await _all(session, f"{base}/MedicationDispense", params[:2])
    owners = {r["subject"]["identifier"]["value"] for r in everything}
    # After a fixture: the first generated patient with dispensings.
    assert owners == {HOME_CARE.nin, _next_with(population, "MedicationDispense", -1)}
    assert _self_params(bundle) == params, "nothing says the patient was ignored"
    assert _outcomes(bundle) == []

    # Patient searches too: the number asked for and another.
    status, patients = await get_json(
        session, f"{base}/Patient", [("identifier", token(HOME_CARE.nin))]
    )
    assert status == 200
    assert {p["identifier"][0]["value"] for p in entries(patients)} == {
        HOME_CARE.nin,
        population.nin(0),
    }
    # A generated patient is followed by the next one with data of the type searched.
    second = population.nin(1)
    status, bundle = await get_json(
        session, f"{base}/MedicationRequest", [("subject:identifier", token(second))]
    )
    owners = {r["subject"]["identifier"]["value"] for r in entries(bundle)}
    assert owners == {second, _next_with(population, "MedicationRequest", 1)}


async def test_strict_refuses_the_identifier_modifier_and_unknown_parameters(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    registries.set_mode(Mode.STRICT)
    base = registries.base_urls[Source.DOCUMENTS]
    url = f"{base}/DocumentReference"
    status, outcome = await get_json(session, url, [("subject:identifier", token(HOME_CARE.nin))])
    assert status == 400
    assert "subject:identifier" in outcome["issue"][0]["diagnostics"]
    patient_id = await _patient_id(session, base, HOME_CARE.nin)
    subject = ("subject", f"Patient/{patient_id}")
    status, _ = await get_json(session, url, [subject, ("frobnicate", "1")])
    assert status == 400
    documents = await _all(session, url, [subject])
    chained = await _all(session, url, [("subject:Patient.identifier", token(HOME_CARE.nin))])
    assert documents and [d["id"] for d in chained] == [d["id"] for d in documents]
    assert all(d["subject"] == {"reference": f"Patient/{patient_id}"} for d in documents)


async def test_every_mode_pages_with_next_links_that_work(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    base = registries.base_urls[Source.PRESCRIPTIONS]
    subject = ("subject", f"Patient/{await _patient_id(session, base, HOME_CARE.nin)}")
    counts = {}
    for mode in Mode:
        registries.set_mode(mode, Source.PRESCRIPTIONS)
        pages = await search_pages(
            session,
            f"{base}/MedicationRequest",
            [subject, ("_include", "MedicationRequest:medication"), ("_count", "25")],
        )
        ids = [r["id"] for page in pages for r in entries(page)]
        assert len(ids) == len(set(ids)) == pages[0]["total"], mode
        counts[mode] = len(ids)
    assert counts[Mode.WRONG_PATIENT] > counts[Mode.DIALECT]
    assert {counts[m] for m in Mode if m is not Mode.WRONG_PATIENT} == {counts[Mode.DIALECT]}


async def test_admin_route_switches_shows_and_resets_the_mode(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    admin = registries.base_urls[Source.CORE_RECORD].removesuffix("/fhir") + "/_admin/mode"
    async with session.get(admin) as response:
        assert await response.json() == {"mode": "dialect", "unknown_params": [], "batch": True}
    body = {"mode": "standard", "unknown_params": ["status"], "batch": False}
    async with session.put(admin, json=body) as response:
        assert response.status == 200
        assert await response.json() == body
    assert registries.mode(Source.CORE_RECORD) == ServerMode(
        Mode.STANDARD, frozenset({"status"}), batch=False
    )
    assert registries.mode(Source.DOCUMENTS) == DIALECT
    bad_bodies: list[object] = [
        {"mode": "lenient"},
        {"mode": "strict", "extra": 1},
        {"unknown_params": "x"},
        {"batch": "yes"},
        [],
    ]
    for bad in bad_bodies:
        async with session.put(admin, json=bad) as response:
            assert response.status == 400, bad
    async with session.put(admin, data=b"{not json") as response:
        assert response.status == 400
    async with session.delete(admin) as response:
        assert await response.json() == {"mode": "dialect", "unknown_params": [], "batch": True}
    assert registries.mode(Source.CORE_RECORD) == DIALECT
    assert registries.stats(Source.CORE_RECORD).total == 0, "admin requests are not counted"


async def test_runner_takes_modes_at_construction_per_registry_and_resets_them(
    population: Population,
) -> None:
    modes = {Source.LAB_RESULTS: Mode.WRONG_PATIENT, Source.DOCUMENTS: "strict"}
    async with MockRegistries(population, ports=EPHEMERAL_PORTS, mode=modes) as mocks:
        assert mocks.mode(Source.LAB_RESULTS).mode is Mode.WRONG_PATIENT
        assert mocks.mode(Source.DOCUMENTS).mode is Mode.STRICT
        assert mocks.mode(Source.CORE_RECORD) == DIALECT
        mocks.set_mode("no-include")
        assert {mocks.mode(s).mode for s in mocks.sources} == {Mode.NO_INCLUDE}
        mocks.reset_mode(Source.GP_REGISTRY)
        assert mocks.mode(Source.GP_REGISTRY) == DIALECT
        mocks.reset_mode()
        assert {mocks.mode(s) for s in mocks.sources} == {DIALECT}
    async with MockRegistries(population, ports=EPHEMERAL_PORTS, mode=Mode.STANDARD) as mocks:
        assert {mocks.mode(s).mode for s in mocks.sources} == {Mode.STANDARD}


def test_cli_mode_option_sets_all_then_one_registry() -> None:
    modes = _mock_modes(["standard", "lab_results=wrong-patient"])
    assert modes[Source.LAB_RESULTS] is Mode.WRONG_PATIENT
    assert {modes[s] for s in Source if s is not Source.LAB_RESULTS} == {Mode.STANDARD}
    assert set(_mock_modes([]).values()) == {Mode.DIALECT}
    for bad in (["lenient"], ["nowhere=standard"], ["lab_results="]):
        with pytest.raises(ValueError):
            _mock_modes(bad)
