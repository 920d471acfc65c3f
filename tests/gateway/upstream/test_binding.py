"""Patient binding against small real servers: every answer must be the patient's.

Each server here misbehaves in one way a real registry does (ignores a parameter, mixes in another
patient, holds duplicates); the gateway must refuse, never show. The mock registries' modes and the
independent FHIR server test the same end to end.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from gateway.errors import (
    SourceAmbiguousPatient,
    SourceFilterIgnored,
    SourceWrongPatient,
)
from gateway.identity import parse
from gateway.settings import SourceSettings
from gateway.upstream.binding import BindingMode, bound_patient_ids, reference_target
from gateway.upstream.fhir import FhirSource, SearchResult
from mocks.fixtures import fixture
from tests.conftest import served
from tests.gateway.upstream.test_fhir import fhir_source

NIN = parse(fixture("home-care-elderly").nin)
OTHER = parse(fixture("many-medicines").nin)


def _patient(patient_id: str, nin: str = NIN.value, **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": nin}],
        **more,
    }


def _request(patient_ref: str, rid: str = "m1") -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": rid, "subject": {"reference": patient_ref}}


def _bundle(*resources: dict[str, Any], mode: str = "match", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r, "search": {"mode": mode}} for r in resources],
        **extra,
    }


class Registry:
    """A FHIR server whose answers the test sets per resource type; it records every query."""

    def __init__(self) -> None:
        self.answers: dict[str, Callable[[web.Request], dict[str, Any]]] = {}
        self.metadata: dict[str, Any] | None = None
        self.asked: list[tuple[str, list[tuple[str, str]]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        tail = request.match_info["tail"]
        if tail == "metadata":
            if self.metadata is None:
                return web.json_response({"resourceType": "OperationOutcome"}, status=404)
            return web.json_response(self.metadata)
        self.asked.append((tail, list(request.query.items())))
        answer = self.answers.get(tail.split("/")[0])
        if answer is None:
            return web.json_response({"resourceType": "OperationOutcome"}, status=404)
        return web.json_response(answer(request))

    def queries(self, resource_type: str) -> list[list[tuple[str, str]]]:
        return [q for t, q in self.asked if t == resource_type]


@contextlib.asynccontextmanager
async def _source(registry: Registry, **settings: Any) -> AsyncIterator[FhirSource]:
    app = web.Application()
    app.router.add_get("/fhir/{tail:.*}", registry.handle)
    async with served(app) as url, aiohttp.ClientSession() as session:
        options = {"cache_ttl_s": 60, "retries": 0, **settings}
        yield fhir_source(
            "prescriptions", SourceSettings(base_url=f"{url}/fhir", **options), session
        )


def _ids(result: SearchResult) -> list[str]:
    return [str(r["id"]) for r in result.matches]


async def test_the_number_is_bound_to_the_registrys_patient_id_and_searched_by_reference() -> None:
    registry = Registry()
    registry.answers["Patient"] = lambda _: _bundle(_patient("p7"))
    registry.answers["MedicationRequest"] = lambda _: _bundle(_request("Patient/p7"))
    async with _source(registry) as fhir:
        page = await fhir.fetch("MedicationRequest", [], _ids, patient=NIN, by="subject")
        again = await fhir.fetch(
            "MedicationRequest", [("status", "active")], _ids, patient=NIN, by="subject"
        )
    assert page.items == ["m1"] and again.items == ["m1"]
    assert fhir.binding_mode is BindingMode.REFERENCE, "no CapabilityStatement: standard"
    assert registry.queries("Patient") == [[("identifier", NIN.fhir_token), ("_count", "50")]]
    searches = registry.queries("MedicationRequest")
    assert searches[0][0] == ("subject", "Patient/p7")
    assert searches[1][:2] == [("subject", "Patient/p7"), ("status", "active")]


async def test_a_number_the_registry_does_not_know_is_nothing_recorded_without_searching() -> None:
    registry = Registry()
    registry.answers["Patient"] = lambda _: _bundle()
    registry.answers["MedicationRequest"] = lambda _: _bundle(_request("Patient/p7"))
    async with _source(registry) as fhir:
        page = await fhir.fetch("MedicationRequest", [], _ids, patient=NIN, by="subject")
    assert page.items == []
    assert registry.queries("MedicationRequest") == []


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(
            lambda: _bundle(_request("Patient/p7"), _request("Patient/p8", "m2")),
            id="other-subject",
        ),
        pytest.param(
            lambda: _bundle({"resourceType": "MedicationRequest", "id": "m3"}), id="no-subject"
        ),
        pytest.param(
            lambda: _bundle(
                {
                    "resourceType": "MedicationRequest",
                    "id": "m4",
                    "subject": {
                        "identifier": {
                            "system": "urn:oid:2.16.578.1.12.4.1.4.1",
                            "value": OTHER.value,
                        }
                    },
                }
            ),
            id="other-identifier",
        ),
        pytest.param(
            lambda: {
                **_bundle(_request("Patient/p7")),
                "entry": [
                    {"resource": _request("Patient/p7"), "search": {"mode": "match"}},
                    {
                        "resource": {
                            "resourceType": "Observation",
                            "id": "o1",
                            "subject": {"reference": "Patient/p8"},
                        },
                        "search": {"mode": "include"},
                    },
                ],
            },
            id="included-other",
        ),
        pytest.param(
            lambda: _bundle(_request("http://elsewhere/fhir/Patient/p8/_history/2")),
            id="absolute-other",
        ),
    ],
)
async def test_another_patients_resource_refuses_the_whole_answer(
    answer: Callable[[], dict[str, Any]],
) -> None:
    registry = Registry()
    registry.answers["Patient"] = lambda _: _bundle(_patient("p7"))
    registry.answers["MedicationRequest"] = lambda _: answer()
    async with _source(registry) as fhir:
        with pytest.raises(SourceWrongPatient) as raised:
            await fhir.fetch("MedicationRequest", [], _ids, patient=NIN, by="subject")
        assert raised.value.code == "SOURCE_WRONG_PATIENT"
        assert NIN.value not in str(raised.value) and OTHER.value not in str(raised.value)
        # Refused answers are never cached: the next search asks again, and a right answer shows.
        registry.answers["MedicationRequest"] = lambda _: _bundle(_request("Patient/p7"))
        page = await fhir.fetch("MedicationRequest", [], _ids, patient=NIN, by="subject")
    assert page.items == ["m1"] and page.provenance.from_cache is False


async def test_a_patient_search_answered_with_everyone_is_refused() -> None:
    """A lenient server that ignores ``identifier`` answers with every Patient."""
    registry = Registry()
    registry.answers["Patient"] = lambda _: _bundle(_patient("p7"), _patient("p8", OTHER.value))
    registry.answers["MedicationRequest"] = lambda _: _bundle(_request("Patient/p7"))
    async with _source(registry) as fhir:
        with pytest.raises(SourceWrongPatient):
            await fhir.fetch("MedicationRequest", [], _ids, patient=NIN, by="subject")
    assert registry.queries("MedicationRequest") == []


async def test_duplicates_are_an_error_unless_patient_link_ties_them() -> None:
    registry = Registry()
    registry.answers["Patient"] = lambda _: _bundle(_patient("p7"), _patient("p9"))
    async with _source(registry) as fhir:
        with pytest.raises(SourceAmbiguousPatient) as raised:
            await fhir.fetch("MedicationRequest", [], _ids, patient=NIN, by="subject")
    assert raised.value.code == "SOURCE_AMBIGUOUS_PATIENT"

    registry = Registry()
    registry.answers["Patient"] = lambda _: _bundle(
        _patient("p7", link=[{"other": {"reference": "Patient/p9"}, "type": "replaced-by"}]),
        _patient("p9"),
    )
    registry.answers["MedicationRequest"] = lambda _: _bundle(
        _request("Patient/p7"), _request("Patient/p9", "m2")
    )
    async with _source(registry) as fhir:
        page = await fhir.fetch("MedicationRequest", [], _ids, patient=NIN, by="subject")
    assert sorted(page.items) == ["m1", "m2"]
    assert registry.queries("MedicationRequest")[0][0] == ("subject", "Patient/p7,Patient/p9")


def test_a_replaced_by_link_is_followed_to_a_patient_that_did_not_match() -> None:
    linked = _patient("p7", link=[{"other": {"reference": "Patient/p10"}, "type": "replaced-by"}])
    assert bound_patient_ids("prescriptions", [linked]) == {"p7"}
    pair = [
        linked,
        _patient("p9", link=[{"other": {"reference": "Patient/p10"}, "type": "seealso"}]),
    ]
    assert bound_patient_ids("prescriptions", pair) == {"p7", "p9", "p10"}


@pytest.mark.parametrize(
    ("diagnostics", "refused"),
    [
        ("Unknown search parameter 'subject' for resource type 'MedicationRequest'", True),
        ("Search parameter status is not supported and was ignored", True),
        ("Something was ignored", True),
        ("_include MedicationRequest:medication is not supported", False),
    ],
)
async def test_an_operation_outcome_about_a_filter_refuses_the_answer(
    diagnostics: str, refused: bool
) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "warning", "code": "not-supported", "diagnostics": diagnostics}],
    }
    registry = Registry()
    registry.answers["Patient"] = lambda _: _bundle(_patient("p7"))
    registry.answers["MedicationRequest"] = lambda _: {
        **_bundle(_request("Patient/p7")),
        "entry": [
            {"resource": _request("Patient/p7"), "search": {"mode": "match"}},
            {"resource": outcome, "search": {"mode": "outcome"}},
        ],
    }
    async with _source(registry) as fhir:
        search = fhir.fetch(
            "MedicationRequest",
            [("status", "active"), ("_include", "MedicationRequest:medication")],
            _ids,
            patient=NIN,
            by="subject",
        )
        if refused:
            with pytest.raises(SourceFilterIgnored) as raised:
                await search
            assert raised.value.code == "SOURCE_FILTER_IGNORED"
        else:
            assert (await search).items == ["m1"]


async def test_information_in_an_operation_outcome_is_no_refusal() -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "information", "code": "informational", "diagnostics": "subject searched"}
        ],
    }
    registry = Registry()
    registry.answers["Patient"] = lambda _: _bundle(_patient("p7"))
    registry.answers["MedicationRequest"] = lambda _: {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": _request("Patient/p7"), "search": {"mode": "match"}},
            {"resource": outcome, "search": {"mode": "outcome"}},
        ],
    }
    async with _source(registry) as fhir:
        assert (
            await fhir.fetch("MedicationRequest", [], _ids, patient=NIN, by="subject")
        ).items == ["m1"]


async def test_a_self_link_without_a_filter_sent_refuses_the_answer() -> None:
    registry = Registry()
    registry.answers["Patient"] = lambda _: _bundle(_patient("p7"))

    def dropped_status(request: web.Request) -> dict[str, Any]:
        self_url = str(request.url.with_query({"subject": request.query["subject"]}))
        return _bundle(_request("Patient/p7"), link=[{"relation": "self", "url": self_url}])

    def faithful(request: web.Request) -> dict[str, Any]:
        return _bundle(_request("Patient/p7"), link=[{"relation": "self", "url": str(request.url)}])

    registry.answers["MedicationRequest"] = dropped_status
    async with _source(registry) as fhir:
        with pytest.raises(SourceFilterIgnored):
            await fhir.fetch(
                "MedicationRequest", [("status", "active")], _ids, patient=NIN, by="subject"
            )
        registry.answers["MedicationRequest"] = faithful
        page = await fhir.fetch(
            "MedicationRequest", [("status", "active")], _ids, patient=NIN, by="subject"
        )
    assert page.items == ["m1"]


async def test_auto_binding_reads_the_capability_statement() -> None:
    """A server that cannot search Patient by identifier is searched with a chained parameter,
    the Patient included so that the answer can be checked."""
    registry = Registry()
    registry.metadata = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {"type": "Patient", "searchParam": [{"name": "_id", "type": "token"}]},
                    {
                        "type": "MedicationRequest",
                        "searchParam": [{"name": "subject", "type": "reference"}],
                    },
                ],
            }
        ],
    }

    def chained(request: web.Request) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [
                {"resource": _request("Patient/p7"), "search": {"mode": "match"}},
                {"resource": _patient("p7"), "search": {"mode": "include"}},
            ],
        }

    registry.answers["MedicationRequest"] = chained
    async with _source(registry) as fhir:
        page = await fhir.fetch("MedicationRequest", [], _ids, patient=NIN, by="subject")
        assert fhir.binding_mode is BindingMode.CHAINED
        assert page.items == ["m1"]
        assert registry.queries("MedicationRequest")[0][:2] == [
            ("subject:Patient.identifier", NIN.fhir_token),
            ("_include", "MedicationRequest:subject"),
        ]
        # The same server mixing in another patient (and their Patient) is caught.
        registry.answers["MedicationRequest"] = lambda _: {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [
                {"resource": _request("Patient/p7"), "search": {"mode": "match"}},
                {"resource": _request("Patient/p8", "m2"), "search": {"mode": "match"}},
                {"resource": _patient("p7"), "search": {"mode": "include"}},
                {"resource": _patient("p8", OTHER.value), "search": {"mode": "include"}},
            ],
        }
        with pytest.raises(SourceWrongPatient):
            await fhir.fetch(
                "MedicationRequest", [("status", "active")], _ids, patient=NIN, by="subject"
            )


async def test_the_identifier_mode_checks_the_number_inside_references() -> None:
    registry = Registry()
    identified = {"identifier": {"system": NIN.fhir_system, "value": NIN.value}}
    other = {"identifier": {"system": OTHER.fhir_system, "value": OTHER.value}}
    registry.answers["MedicationRequest"] = lambda _: _bundle(
        {"resourceType": "MedicationRequest", "id": "m1", "subject": identified}
    )
    async with _source(registry, patient_binding="identifier") as fhir:
        page = await fhir.fetch("MedicationRequest", [], _ids, patient=NIN, by="subject")
        assert page.items == ["m1"]
        assert registry.queries("MedicationRequest")[0][0] == ("subject:identifier", NIN.fhir_token)
        registry.answers["MedicationRequest"] = lambda _: _bundle(
            {"resourceType": "MedicationRequest", "id": "m2", "subject": other}
        )
        with pytest.raises(SourceWrongPatient):
            await fhir.fetch(
                "MedicationRequest", [("status", "active")], _ids, patient=NIN, by="subject"
            )


async def test_a_read_by_id_of_another_patients_resource_is_refused() -> None:
    registry = Registry()
    registry.answers["Patient"] = lambda _: _bundle(_patient("p7"))
    registry.answers["DocumentReference"] = lambda _: {
        "resourceType": "DocumentReference",
        "id": "d1",
        "subject": {"reference": "Patient/p8"},
    }
    async with _source(registry) as fhir:
        with pytest.raises(SourceWrongPatient):
            await fhir.read("DocumentReference", "d1", lambda r: r, patient=NIN)


@pytest.mark.parametrize(
    ("reference", "target"),
    [
        ("Patient/1", ("Patient", "1")),
        ("Patient/1/_history/3", ("Patient", "1")),
        ("https://fhir.example/r4/Patient/abc-1", ("Patient", "abc-1")),
        ("#contained", None),
        ("urn:uuid:6d1c5e0a-0000-0000-0000-000000000000", None),
        ("Patient", None),
    ],
)
def test_reference_targets(reference: str, target: tuple[str, str] | None) -> None:
    assert reference_target(reference) == target
