"""FHIR writes to one source: read by id with its version, create (conditional), update
(``If-Match``). Every request goes through the one error boundary
(``gateway/upstream/http_errors.py``); what a status means for a write (a version conflict, an
entry not found) is said here.

Writes bypass the cache, single-flight, the breaker and stale-if-error: a write is never served
from anywhere but the registry. Nor are they retried here: a create is made safe to repeat by
its idempotency identifier (``If-None-Exist``), an update by ``If-Match``; a caller who got no
answer retries the whole mutation with the same idempotency key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from gateway.errors import (
    EntryNotFound,
    SourceBadResponse,
    SourceTimeout,
    VersionConflict,
)
from gateway.settings import SourceSettings
from gateway.upstream.credentials import Credentials
from gateway.upstream.deadline import bounded, remaining
from gateway.upstream.http_errors import Answer, Peer, fhir_resource, raise_for_status

_FHIR_JSON = "application/fhir+json"
# Applied with ``fullmatch`` (``$`` would also match before a final newline).
_RESOURCE_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_ETAG = re.compile(r'(?:W/)?"([0-9A-Za-z.\-]{1,64})"')


@dataclass(frozen=True, slots=True)
class Versioned:
    """A resource as the registry holds it now, with its version (``meta.versionId``)."""

    resource: Mapping[str, Any]
    version: str
    created: bool = False
    """After a create: whether this call created it (False: the idempotency key found it)."""


class FhirWriter:
    """Writes to one FHIR server; one per source per app."""

    def __init__(
        self,
        name: str,
        settings: SourceSettings,
        session: aiohttp.ClientSession,
        credentials: Credentials | None = None,
    ):
        """``credentials`` authenticate every request (shared with the source's reader, whose
        token they cache); default: none."""
        if settings.base_url is None:
            raise ValueError(f"source {name} has no base_url")
        self.name = name
        self._base_url = settings.base_url
        self._settings = settings
        self._session = session
        self._credentials = credentials or Credentials(name)
        self._label = f"the {name.replace('_', ' ')} registry"
        self._peer = Peer(name)

    async def read(self, resource_type: str, resource_id: str) -> Versioned:
        """``GET <type>/<id>``: the current version (``NOT_FOUND`` when there is none)."""
        answer = await self._call("GET", self._url(resource_type, resource_id))
        return self._versioned(answer, resource_type)

    async def create(
        self, resource: Mapping[str, Any], if_none_exist: tuple[str, str] | None = None
    ) -> Versioned:
        """``POST <type>``; with ``if_none_exist`` (system, value), only when no resource of
        that type holds that identifier (then the existing one is returned)."""
        resource_type = str(resource["resourceType"])
        headers = {}
        if if_none_exist is not None:
            headers["If-None-Exist"] = f"identifier={if_none_exist[0]}|{if_none_exist[1]}"
        answer = await self._call("POST", f"{self._base_url}/{resource_type}", resource, headers)
        versioned = self._versioned(answer, resource_type)
        return Versioned(versioned.resource, versioned.version, created=answer.status == 201)

    async def update(self, resource: Mapping[str, Any], base_version: str) -> Versioned:
        """``PUT <type>/<id>`` if the registry's version is still ``base_version``; else
        ``VERSION_CONFLICT`` and nothing is written."""
        resource_type = str(resource["resourceType"])
        url = self._url(resource_type, str(resource["id"]))
        answer = await self._call("PUT", url, resource, {"If-Match": f'W/"{base_version}"'})
        return self._versioned(answer, resource_type)

    def _url(self, resource_type: str, resource_id: str) -> str:
        if not _RESOURCE_ID.fullmatch(resource_id):
            raise EntryNotFound("no entry has that id")
        return f"{self._base_url}/{resource_type}/{resource_id}"

    async def _call(
        self,
        method: str,
        url: str,
        resource: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Answer:
        # The body holds health data and the URL may name the patient: neither is ever put in a
        # message or a log line.
        left = remaining()
        if left is not None and left <= 0:
            raise SourceTimeout(self.name, f"{self._label} was not asked: no time was left")
        timeout = aiohttp.ClientTimeout(
            total=bounded(self._settings.timeout_s),
            sock_connect=bounded(self._settings.connect_timeout_s),
        )
        headers = {"Accept": _FHIR_JSON, **(extra_headers or {})}
        data = None
        if resource is not None:
            headers["Content-Type"] = _FHIR_JSON
            data = orjson.dumps(resource)
        return await self._credentials.send(
            self._session, self._peer, method, url, headers=headers, timeouts=timeout, data=data
        )

    def _versioned(self, answer: Answer, resource_type: str) -> Versioned:
        # What a status means for a write is said here; the rest is the boundary's.
        if answer.status in (409, 412):
            raise VersionConflict(
                "the entry was changed since the version this change was based on; read it "
                "again and base the change on its current version"
            )
        if answer.status in (404, 410):
            raise EntryNotFound("the patient's record holds no such entry")
        raise_for_status(self._peer, answer, "the write")
        resource = fhir_resource(self._peer, answer.body, resource_type)
        etag = _ETAG.fullmatch(answer.headers.get("ETag", ""))
        version = etag.group(1) if etag else str((resource.get("meta") or {}).get("versionId", ""))
        if not version:
            raise SourceBadResponse(self.name, f"{self._label} did not say the entry's version")
        return Versioned(resource, version)
