"""A tiny FHIR client for the mock tests: search, follow next links, read JSON."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from gateway.identity import parse
from mocks import Source

Json = dict[str, Any]
Params = list[tuple[str, str]]

FHIR_ACCEPT = {"Accept": "application/fhir+json"}


def token(nin: str) -> str:
    """The ``system|value`` token naming the patient with ``nin``."""
    return parse(nin).fhir_token


async def get_json(
    session: aiohttp.ClientSession, url: str, params: Params | None = None
) -> tuple[int, Json]:
    """GET ``url`` and parse the body as JSON, whatever the content type."""
    async with session.get(url, params=params, headers=FHIR_ACCEPT) as response:
        return response.status, orjson.loads(await response.read())


async def search_pages(session: aiohttp.ClientSession, url: str, params: Params) -> list[Json]:
    """Every page of a search, following ``next`` links verbatim."""
    status, bundle = await get_json(session, url, params)
    assert status == 200, bundle
    pages = [bundle]
    while (next_url := next_link(bundle)) is not None:
        status, bundle = await get_json(session, next_url)
        assert status == 200, bundle
        pages.append(bundle)
    return pages


def next_link(bundle: Json) -> str | None:
    """The ``next`` link of a Bundle, if any."""
    for link in bundle.get("link", []):
        if link["relation"] == "next":
            return str(link["url"])
    return None


def entries(bundle: Json, mode: str = "match") -> list[Json]:
    """The resources of a Bundle's entries with ``search.mode`` ``mode``."""
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


CONTRACT: list[tuple[Source, str, str, Params]] = [
    (Source.PRESCRIPTIONS, "MedicationRequest", "subject:identifier", []),
    (Source.PRESCRIPTIONS, "MedicationDispense", "subject:identifier", []),
    (
        Source.GP_REGISTRY,
        "PractitionerRole",
        "patient:identifier",
        [
            ("_include", "PractitionerRole:practitioner"),
            ("_include", "PractitionerRole:organization"),
        ],
    ),
    (Source.VISIT_HISTORY, "Encounter", "subject:identifier", [("date", "ge2008-01-01")]),
    (Source.DOCUMENTS, "DocumentReference", "subject:identifier", []),
    (
        Source.LAB_RESULTS,
        "DiagnosticReport",
        "subject:identifier",
        [("_include", "DiagnosticReport:result")],
    ),
    (Source.CORE_RECORD, "Patient", "identifier", []),
    (Source.CORE_RECORD, "AllergyIntolerance", "patient:identifier", []),
    (Source.CORE_RECORD, "Condition", "subject:identifier", []),
    (Source.CORE_RECORD, "Procedure", "subject:identifier", []),
    (Source.CORE_RECORD, "DeviceUseStatement", "subject:identifier", []),
    (Source.CORE_RECORD, "Flag", "subject:identifier", []),
    (Source.CORE_RECORD, "RelatedPerson", "patient:identifier", []),
    (Source.CORE_RECORD, "Consent", "patient:identifier", []),
]
"""Every search docs/fhir-profile.md promises: source, resource type, patient parameter, extras."""


def contract_params(
    resource_type: str, nin: str, count: int | None = None
) -> tuple[Source, str, Params]:
    """The source, path and parameters of the contract search for ``resource_type``."""
    for source, rtype, patient_param, extra in CONTRACT:
        if rtype == resource_type:
            params = [(patient_param, token(nin)), *extra]
            if count is not None:
                params.append(("_count", str(count)))
            return source, f"/{rtype}", params
    raise KeyError(resource_type)
