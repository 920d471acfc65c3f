"""FHIR create, update and read by id, for the core record's writable resources.

    POST [base]/<type>           create; ``If-None-Exist: identifier=system|value`` makes it
                                 conditional (an existing match is answered 200, not created)
    PUT  [base]/<type>/<id>      update; ``If-Match: W/"<version>"`` (412 when stale) or
                                 ``meta.versionId`` in the body (409 when stale)
    GET  [base]/<type>/<id>      read, with its ``ETag``

Every answer that holds a resource carries ``ETag: W/"<versionId>"`` and ``Last-Modified``
(and ``Location`` after a create), as FHIR's RESTful API asks. A resource belongs to the patient
its ``patient``/``subject`` reference names; an update cannot move it to another patient.
"""

from __future__ import annotations

import re

import orjson
from aiohttp import web

from mocks.edits import WRITABLE_TYPES, VersionMismatch, version_of
from mocks.fhir import error_response, fhir_response
from mocks.population import Population
from mocks.record import PatientRecord, owner_of
from mocks.sources import FHIR_BASE_PATH

_ETAG = re.compile(r'(?:W/)?"([0-9]+)"')
_CONDITION = re.compile(r"identifier=([^|]+)\|(.+)")


def _answer(resource: dict[str, object], status: int, base: str | None = None) -> web.Response:
    meta = resource.get("meta")
    headers = {"ETag": f'W/"{version_of(resource)}"'}
    if isinstance(meta, dict) and isinstance(meta.get("lastUpdated"), str):
        headers["Last-Modified"] = str(meta["lastUpdated"])
    if base is not None:
        location = f"{base}/{resource['resourceType']}/{resource['id']}"
        headers["Location"] = f"{location}/_history/{version_of(resource)}"
    return fhir_response(resource, status, headers)


def _patient_nin(resource: dict[str, object]) -> str | None:
    for name in ("patient", "subject"):
        reference = resource.get(name)
        if isinstance(reference, dict):
            identifier = reference.get("identifier")
            if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
                return str(identifier["value"])
    return None


class WriteHandlers:
    """The write and read-by-id routes over one population's records."""

    def __init__(self, population: Population) -> None:
        self.population = population

    def routes(self) -> list[web.RouteDef]:
        """The routes, to add before the search and read routes."""
        return [
            web.post(f"{FHIR_BASE_PATH}/{{resource_type}}", self.create),
            web.put(f"{FHIR_BASE_PATH}/{{resource_type}}/{{id}}", self.update),
        ]

    def owner(self, resource_id: str) -> PatientRecord | None:
        """The (edited) record a resource id belongs to."""
        record = self.population.record_by_patient_id(owner_of(resource_id))
        return None if record is None else self.population.record(record.nin)

    async def create(self, request: web.Request) -> web.Response:
        resource_type = request.match_info["resource_type"]
        resource, refusal = await self._body(request, resource_type)
        if refusal is not None:
            return refusal
        assert resource is not None
        condition = None
        header = request.headers.get("If-None-Exist")
        if header is not None:
            match = _CONDITION.fullmatch(header)
            if match is None:
                return error_response(400, "invalid", "If-None-Exist must be identifier=system|v")
            condition = (match.group(1), match.group(2))
        nin = _patient_nin(resource)
        record = self.population.record(nin) if nin else None
        if record is None:
            return error_response(422, "processing", "the resource names no known patient")
        created = self.population.edits.create(record, resource, condition)
        base = f"{request.url.origin()}{FHIR_BASE_PATH}"
        return _answer(created.resource, 201 if created.new else 200, base)

    async def update(self, request: web.Request) -> web.Response:
        resource_type, resource_id = request.match_info["resource_type"], request.match_info["id"]
        resource, refusal = await self._body(request, resource_type)
        if refusal is not None:
            return refusal
        assert resource is not None
        if resource.get("id") != resource_id:
            return error_response(400, "invalid", "the body's id is not the URL's id")
        record = self.owner(resource_id)
        if record is None or _patient_nin(resource) != record.nin:
            return error_response(422, "processing", "the resource names another patient")
        expected: str | None = None
        stale_status = 409
        header = request.headers.get("If-Match")
        if header is not None:
            match = _ETAG.fullmatch(header.strip())
            if match is None:
                return error_response(400, "invalid", 'If-Match must be W/"<version>"')
            expected, stale_status = match.group(1), 412
        else:
            meta = resource.get("meta")
            if isinstance(meta, dict) and meta.get("versionId") is not None:
                expected = str(meta["versionId"])
        try:
            stored = self.population.edits.update(record, resource, expected)
        except VersionMismatch as stale:
            return error_response(
                stale_status, "conflict", f"the current version is {stale.current}"
            )
        if stored is None:
            return error_response(404, "not-found", f"{resource_type}/{resource_id} is not known")
        return _answer(stored, 200)

    async def read(self, request: web.Request) -> web.Response:
        """``GET <type>/<id>`` of a writable resource (other types: see the registry's read)."""
        resource_type, resource_id = request.match_info["resource_type"], request.match_info["id"]
        record = self.owner(resource_id)
        found = record.resolve(f"{resource_type}/{resource_id}") if record else None
        if found is None:
            return error_response(404, "not-found", f"{resource_type}/{resource_id} is not known")
        return _answer(found, 200)

    async def _body(
        self, request: web.Request, resource_type: str
    ) -> tuple[dict[str, object] | None, web.Response | None]:
        if resource_type not in WRITABLE_TYPES:
            return None, error_response(405, "not-supported", f"{resource_type} is read-only")
        try:
            resource = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return None, error_response(400, "invalid", "the body is not JSON")
        if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
            return None, error_response(400, "invalid", f"the body is not a {resource_type}")
        return resource, None
