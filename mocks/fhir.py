"""FHIR over HTTP: searchset Bundles, OperationOutcomes, the CapabilityStatement, JSON responses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from aiohttp import web

from mocks.datatypes import REFERENCE_TIME, Resource, instant

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"


def fhir_response(
    resource: Resource, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A FHIR JSON response (``application/fhir+json; charset=utf-8``)."""
    return web.Response(
        body=orjson.dumps(resource),
        status=status,
        content_type=FHIR_JSON,
        charset="utf-8",
        headers=headers,
    )


def operation_outcome(severity: str, code: str, diagnostics: str) -> Resource:
    """An OperationOutcome with one issue (``code`` from the FHIR issue-type value set)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def error_response(
    status: int, code: str, diagnostics: str, headers: dict[str, str] | None = None
) -> web.Response:
    """An error answered the FHIR way: the status code and an OperationOutcome body."""
    return fhir_response(operation_outcome("error", code, diagnostics), status, headers)


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of search results, ready to become a Bundle."""

    self_url: str
    next_url: str | None
    total: int
    matches: Sequence[Resource]
    includes: Sequence[Resource] = ()


def searchset(page: SearchPage, base_url: str) -> Resource:
    """A ``searchset`` Bundle: matches, then includes, with absolute ``fullUrl``s and links."""
    links = [{"relation": "self", "url": page.self_url}]
    if page.next_url is not None:
        links.append({"relation": "next", "url": page.next_url})
    entries = [_entry(r, base_url, "match") for r in page.matches]
    entries += [_entry(r, base_url, "include") for r in page.includes]
    bundle: Resource = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, page.self_url)),
        "meta": {"lastUpdated": instant(REFERENCE_TIME)},
        "type": "searchset",
        "total": page.total,
        "link": links,
    }
    if entries:
        bundle["entry"] = entries
    return bundle


def _entry(resource: Resource, base_url: str, mode: str) -> Resource:
    return {
        "fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode},
    }


@dataclass(frozen=True, slots=True)
class SearchCapability:
    """What a registry lets clients search, for its CapabilityStatement."""

    resource_type: str
    params: Sequence[tuple[str, str]]
    includes: Sequence[str] = ()


def capability_statement(
    registry_name: str,
    base_url: str,
    searches: Sequence[SearchCapability],
    readable: Sequence[str] = (),
) -> Resource:
    """A small CapabilityStatement listing the searches (and reads) this registry answers."""
    resources: list[Resource] = [
        {
            "type": s.resource_type,
            "interaction": [{"code": "search-type"}],
            "searchParam": [{"name": name, "type": kind} for name, kind in s.params],
            **({"searchInclude": list(s.includes)} if s.includes else {}),
        }
        for s in searches
    ]
    resources += [{"type": t, "interaction": [{"code": "read"}]} for t in readable]
    return {
        "resourceType": "CapabilityStatement",
        "id": registry_name.replace("_", "-"),
        "meta": {"lastUpdated": instant(REFERENCE_TIME)},
        "status": "active",
        "date": instant(REFERENCE_TIME),
        "publisher": "summary-gateway mock registries",
        "kind": "instance",
        "software": {"name": f"summary-gateway mock {registry_name}"},
        "implementation": {"description": f"Mock of the {registry_name} registry", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON],
        "rest": [{"mode": "server", "resource": resources}],
    }
