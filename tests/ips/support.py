"""Fetching IPS documents from a running gateway, and reading them back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from tests.conftest import GatewayServer, bearer

SUMMARY = "/fhir/Patient/$summary"
NIN_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
D_NUMBER_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"
GATEWAY_ERRORS = "https://summary-gateway.example/fhir/CodeSystem/gateway-error"
SECTION_STATUS = "https://summary-gateway.example/fhir/StructureDefinition/section-status"
SECTION_OUTCOME = "https://summary-gateway.example/fhir/StructureDefinition/section-outcome"
SECTION_STALE_AGE = "https://summary-gateway.example/fhir/StructureDefinition/section-stale-age"
CONSENT = {"nhn-access-basis": "SAMTYKKE"}

MEDICATIONS = "10160-0"
ALLERGIES = "48765-2"
PROBLEMS = "11450-4"
PROCEDURES = "47519-4"
DEVICES = "46264-8"
RESULTS = "30954-2"
ALERTS = "104605-1"
CARE_TEAM = "85847-2"
VISITS = "46240-8"
DOCUMENTS = "documents"
OWN = "own-registrations"


async def fetch_document(
    gateway: GatewayServer,
    nin: str,
    *,
    persona: str | None = "home-care-gp",
    headers: Mapping[str, str] | None = None,
    system: str | None = NIN_SYSTEM,
) -> tuple[int, dict[str, Any]]:
    """GET the IPS document for ``nin`` as ``persona`` (None: no token): status and body."""
    token = f"{system}|{nin}" if system else nin
    sent = {**(bearer(persona) if persona else {}), **(headers or {})}
    async with gateway.anonymous.get(
        f"{gateway.url}{SUMMARY}", params={"identifier": token}, headers=sent
    ) as response:
        body: dict[str, Any] = await response.json(content_type=None)
        return response.status, body


def resources(bundle: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every entry's resource by its fullUrl."""
    return {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}


def composition(bundle: Mapping[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = bundle["entry"][0]["resource"]
    assert first["resourceType"] == "Composition"
    return first


def sections(bundle: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The Composition's sections by their code."""
    return {s["code"]["coding"][0]["code"]: s for s in composition(bundle)["section"]}


def section_resources(bundle: Mapping[str, Any], code: str) -> list[dict[str, Any]]:
    """The resources a section's entries reference, in order."""
    by_url = resources(bundle)
    return [by_url[entry["reference"]] for entry in sections(bundle)[code].get("entry", [])]


def registry_id(resource: Mapping[str, Any]) -> str:
    """The registry's own id of an entry (``Type/id`` in its registry identifier)."""
    values = [
        i["value"]
        for i in resource.get("identifier", [])
        if i["system"].startswith("https://summary-gateway.example/fhir/sid/")
    ]
    assert len(values) == 1, resource
    return str(values[0]).split("/", 1)[1]


def ids(items: Sequence[Mapping[str, Any]], resource_type: str) -> list[str]:
    return [registry_id(r) for r in items if r["resourceType"] == resource_type]


def empty_reason(section: Mapping[str, Any]) -> str | None:
    reason = section.get("emptyReason")
    return None if reason is None else str(reason["coding"][0]["code"])


def status(section: Mapping[str, Any]) -> str:
    return next(str(e["valueCode"]) for e in section["extension"] if e["url"] == SECTION_STATUS)


def outcome_of(bundle: Mapping[str, Any], section: Mapping[str, Any]) -> dict[str, Any] | None:
    extensions = section["extension"]
    reference = next(
        (e["valueReference"]["reference"] for e in extensions if e["url"] == SECTION_OUTCOME),
        None,
    )
    return None if reference is None else resources(bundle)[reference]


def error_code(outcome: Mapping[str, Any]) -> str:
    """The gateway's stable code in an OperationOutcome's first issue."""
    assert outcome["resourceType"] == "OperationOutcome", outcome
    coding = outcome["issue"][0]["details"]["coding"][0]
    assert coding["system"] == GATEWAY_ERRORS
    return str(coding["code"])


def type_counts(bundle: Mapping[str, Any]) -> Counter[str]:
    return Counter(entry["resource"]["resourceType"] for entry in bundle["entry"])
