"""The aiohttp application every mock registry is: FHIR search, metadata, errors, admin routes.

The registry answers searches in the mode its ``FaultInjector`` holds (``mocks/modes.py``),
switched like its faults.

``mocks/<source>.py`` declares what its registry serves and calls ``create_registry_app``.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import MultiMapping
from yarl import URL

from mocks.admin import admin_routes
from mocks.batch import answer_batch
from mocks.datatypes import Resource
from mocks.edits import WRITABLE_TYPES
from mocks.faults import FaultInjector
from mocks.fhir import (
    FHIR_JSON,
    SearchCapability,
    capability_statement,
    error_response,
    fhir_response,
    operation_outcome,
    searchset,
)
from mocks.memo import MEMO_KEY, AnswerMemo
from mocks.population import Population
from mocks.search import SearchError, SearchSpec, patient_by_id, search
from mocks.sources import ADMIN_PREFIX, FHIR_BASE_PATH, Source
from mocks.write_routes import WriteHandlers

_FHIR_ACCEPT = (FHIR_JSON, "application/json+fhir")
_log = logging.getLogger(__name__)


class _Registry:
    """Request handlers for one registry; holds no state but what it was built with."""

    def __init__(
        self,
        source: Source,
        population: Population,
        searches: Sequence[SearchSpec],
        binary: bool,
        *,
        writes: WriteHandlers | None = None,
        injector: FaultInjector | None = None,
        readable: Sequence[str] = (),
    ) -> None:
        self.source = source
        self.injector = injector or FaultInjector()
        self.population = population
        # Every registry knows the patients it holds data about: the standard first step of a
        # search is finding the registry's own Patient id by identity number.
        self.searches = {"Patient": SearchSpec("Patient", "identifier")}
        self.searches |= {spec.resource_type: spec for spec in searches}
        self.binary = binary
        self.writes = writes
        self.readable = set(self.searches) | set(readable)
        """Types read by id (FHIR read): those searched, and those only referred to."""

    def base_url(self, request: web.Request) -> str:
        return f"{request.url.origin()}{FHIR_BASE_PATH}"

    async def metadata(self, request: web.Request) -> web.Response:
        unknown = self.injector.mode.unknown_params
        capabilities = [
            SearchCapability(
                s.resource_type,
                [(name, kind) for name, kind in s.capability_params() if name not in unknown],
                tuple(s.includes),
            )
            for s in self.searches.values()
        ]
        readable = ("Binary",) if self.binary else ()
        statement = capability_statement(
            self.source.value, self.base_url(request), capabilities, readable
        )
        if self.injector.mode.batch:
            statement["rest"][0]["interaction"] = [{"code": "batch"}]
        return fhir_response(statement)

    async def search(self, request: web.Request) -> web.Response:
        return self.search_answer(request.match_info["resource_type"], request.query, request.url)

    def search_answer(self, resource_type: str, query: MultiMapping[str], url: URL) -> web.Response:
        """The answer to a search of ``resource_type`` at ``url`` (its ``query``)."""
        spec = self.searches.get(resource_type)
        if spec is None:
            return error_response(
                404, "not-supported", f"{self.source.value} does not serve {resource_type}"
            )
        try:
            answer = search(spec, query, url, self.population, self.injector.mode)
        except SearchError as exc:
            return error_response(400, exc.code, exc.diagnostics)
        bundle = searchset(answer.page, f"{url.origin()}{FHIR_BASE_PATH}")
        if answer.ignored:
            bundle.setdefault("entry", []).append(_ignored_outcome(spec, answer.ignored))
        return fhir_response(bundle)

    def read_resource(self, resource_type: str, resource_id: str) -> web.Response:
        """``GET [base]/<type>/<id>`` (FHIR read) of a type this registry holds."""
        if resource_type not in self.readable:
            return error_response(
                404, "not-supported", f"{self.source.value} does not read {resource_type} by id"
            )
        resource, record = self.population.resource(resource_type, resource_id)
        if resource is None:
            return error_response(404, "not-found", f"{resource_type}/{resource_id} is not known")
        if record is not None and self.injector.mode.mode.references_by_id:
            resource = patient_by_id(record, resource)
        return fhir_response(resource)

    async def read(self, request: web.Request) -> web.Response:
        resource_type, resource_id = request.match_info["resource_type"], request.match_info["id"]
        if self.writes is not None and resource_type in WRITABLE_TYPES:
            return await self.writes.read(request)
        if resource_type != "Binary":
            return self.read_resource(resource_type, resource_id)
        if not self.binary:
            return error_response(
                404, "not-supported", f"{self.source.value} does not read {resource_type} by id"
            )
        binary = self.population.binary(resource_id)
        if binary is None:
            return error_response(404, "not-found", f"Binary/{resource_id} is not known")
        if any(kind in request.headers.get("Accept", "") for kind in _FHIR_ACCEPT):
            return fhir_response(
                {
                    "resourceType": "Binary",
                    "id": binary.id,
                    "meta": {"lastUpdated": binary.last_updated},
                    "contentType": binary.content_type,
                    "data": base64.b64encode(binary.data).decode("ascii"),
                }
            )
        return web.Response(body=binary.data, headers={"Content-Type": binary.content_type})

    async def batch(self, request: web.Request) -> web.StreamResponse:
        """``POST [base]`` of a FHIR ``batch`` Bundle of GETs (searches and reads): a
        ``batch-response`` with one entry per request, in order, each answered (and faulted,
        and counted) as the request alone would be (``mocks/batch.py``)."""
        if not self.injector.mode.batch:
            return error_response(405, "not-supported", f"{self.source.value} takes no batch")
        memo = request.get(MEMO_KEY)
        answer = memo.entries(self._entry_answer) if isinstance(memo, AnswerMemo) else None
        return await answer_batch(request, self.injector, answer or self._entry_answer)

    async def _entry_answer(self, url: URL) -> web.Response:
        parts = url.path.removeprefix(FHIR_BASE_PATH).strip("/").split("/")
        if len(parts) == 1:
            return self.search_answer(parts[0], url.query, url)
        if len(parts) == 2 and parts[0] != "Binary":
            return self.read_resource(parts[0], parts[1])
        return error_response(400, "not-supported", "the batch entry's URL is not understood")


def _ignored_outcome(spec: SearchSpec, ignored: Sequence[str]) -> Resource:
    """The searchset entry in which a lenient server says which parameters it ignored."""
    diagnostics = (
        f"unknown search parameter(s) for {spec.resource_type} ignored: {', '.join(ignored)}"
    )
    return {
        "fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, diagnostics)}",
        "resource": operation_outcome("warning", "not-supported", diagnostics),
        "search": {"mode": "outcome"},
    }


@web.middleware
async def _fhir_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Routing and method errors become OperationOutcomes, as a FHIR server answers them."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or request.path.startswith(ADMIN_PREFIX):
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        code = "not-found" if exc.status == 404 else "not-supported"
        return error_response(exc.status, code, exc.reason, headers)
    except Exception:
        _log.exception("mock registry failed on %s", request.path)  # no query: it holds the NIN
        return error_response(500, "exception", "the mock registry failed; see its log")


def create_registry_app(
    source: Source,
    population: Population,
    searches: Sequence[SearchSpec],
    injector: FaultInjector | None = None,
    *,
    binary: bool = False,
    writable: bool = False,
    readable: Sequence[str] = (),
) -> web.Application:
    """An application answering ``searches``, reads by id of the types searched and of
    ``readable`` (``GET Binary/<id>`` when ``binary``), and create, update and read by id of the
    core record's resources when ``writable``."""
    injector = injector or FaultInjector()
    writes = WriteHandlers(population) if writable else None
    registry = _Registry(
        source, population, searches, binary, writes=writes, injector=injector, readable=readable
    )
    app = web.Application(middlewares=[injector.middleware, _fhir_errors])
    app.add_routes(
        [
            web.get(f"{FHIR_BASE_PATH}/metadata", registry.metadata),
            web.post(FHIR_BASE_PATH, registry.batch),
            web.get(f"{FHIR_BASE_PATH}/{{resource_type}}", registry.search),
            web.get(f"{FHIR_BASE_PATH}/{{resource_type}}/{{id}}", registry.read),
            *admin_routes(injector),
            *(writes.routes() if writes is not None else ()),
        ]
    )
    return app
