"""Fault injection, added latency, the server mode and request counting for one mock registry.

A ``FaultInjector`` sits in front of a registry app as middleware. Faults are switched at start
(constructor), from Python (``set_fault``) or over HTTP on the mock itself (``mocks.admin``).
``connection_refused`` closes the TCP port itself, which only the server that owns the socket can
do: set it with ``MockServer.set_fault`` (or ``MockRegistries.set_fault``). Set here alone, it
drops connections that reach the app after all. The injector also holds the registry's server
mode (``mocks/modes.py``), which the registry app reads on every search.
"""

from __future__ import annotations

import asyncio
import enum
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from mocks.fhir import FHIR_JSON, error_response
from mocks.modes import DIALECT, ServerMode
from mocks.search import PAGE_PARAM
from mocks.sources import ADMIN_PREFIX, FHIR_BASE_PATH

HANG_LIMIT_S = 3600.0
BATCH_COUNT = "(batch)"
"""The request counters' name for FHIR ``batch`` exchanges (their entries count by type)."""
BROKEN_PAGE_PATH = f"{FHIR_BASE_PATH}/_expired-page"
_HTML_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    b"<h1>502 Bad Gateway</h1><p>The proxy could not reach the registry.</p></body></html>"
)


class FaultKind(enum.StrEnum):
    """What goes wrong."""

    NONE = "none"
    LATENCY = "latency"  # answers normally, ``latency_ms`` late
    HTTP_500 = "http_500"  # 500 with an OperationOutcome
    HTTP_503 = "http_503"  # 503 with an OperationOutcome and Retry-After: retry_after_s
    HANG = "hang"  # never answers (until the client gives up or the fault is cleared)
    CONNECTION_REFUSED = "connection_refused"  # the port is closed; Python API only
    MALFORMED_JSON = "malformed_json"  # 200, fhir+json, the real body cut in half
    NON_FHIR_BODY = "non_fhir_body"  # 200, fhir+json, {"hello": "world"}
    HTML_ERROR_PAGE = "html_error_page"  # 200, text/html, a proxy's error page
    BROKEN_NEXT_LINK = "broken_next_link"  # pages fine, but every next link leads to a 404


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault and whom it hits.

    ``latency_ms`` delays every request the fault applies to (for any kind, so
    ``Fault(FaultKind.NONE, latency_ms=300)`` is a plain slowdown). ``later_pages_only`` spares
    first pages: only requests following a next link are hit. ``resource_types`` limits the fault
    to those types (empty: all). ``times`` makes it hit only the next N requests it applies to.
    """

    kind: FaultKind = FaultKind.NONE
    latency_ms: int = 0
    retry_after_s: int = 1
    later_pages_only: bool = False
    resource_types: frozenset[str] = frozenset()
    times: int | None = None

    @classmethod
    def from_json(cls, data: object) -> Fault:
        """A fault from the admin route's JSON; raises ``ValueError`` on anything odd."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        kind = FaultKind(data.get("kind", "none"))
        numbers = {
            name: data.get(name, default)
            for name, default in (("latency_ms", 0), ("retry_after_s", 1))
        }
        for name, value in numbers.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        times = data.get("times")
        if times is not None and (
            not isinstance(times, int) or isinstance(times, bool) or times < 1
        ):
            raise ValueError("times must be a positive integer or null")
        types = data.get("resource_types", [])
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise ValueError("resource_types must be a list of resource type names")
        later = data.get("later_pages_only", False)
        if not isinstance(later, bool):
            raise ValueError("later_pages_only must be true or false")
        return cls(
            kind, numbers["latency_ms"], numbers["retry_after_s"], later, frozenset(types), times
        )

    def to_json(self) -> dict[str, Any]:
        """The fault as the admin route shows it."""
        data = asdict(self)
        data["resource_types"] = sorted(self.resource_types)
        return data


NO_FAULT = Fault()


@dataclass(frozen=True, slots=True)
class RequestStats:
    """Requests a registry received (admin routes excluded)."""

    total: int = 0
    by_resource_type: dict[str, int] = field(default_factory=dict)

    @property
    def about_patients(self) -> int:
        """Requests but the CapabilityStatement's (``metadata``, which names no patient)."""
        return self.total - self.by_resource_type.get("metadata", 0)

    def to_json(self) -> dict[str, Any]:
        """The counts as the admin route shows them."""
        return {
            "total": self.total,
            "by_resource_type": dict(sorted(self.by_resource_type.items())),
        }


class FaultInjector:
    """One registry's fault switch, added latency, server mode and request counters."""

    def __init__(
        self, fault: Fault = NO_FAULT, latency_ms: int = 0, mode: ServerMode = DIALECT
    ) -> None:
        self._fault = fault
        self._mode = mode
        self._remaining = fault.times
        self._latency_ms = latency_ms
        self._counts: Counter[str] = Counter()
        self._total = 0
        self._wake = asyncio.Event()
        self._stopping = False

    @property
    def fault(self) -> Fault:
        """The fault in force (``NO_FAULT`` when service is normal)."""
        return self._fault

    @property
    def latency_ms(self) -> int:
        """Delay added to every response, whatever the fault."""
        return self._latency_ms

    @property
    def mode(self) -> ServerMode:
        """How the registry answers searches (``DIALECT`` unless switched)."""
        return self._mode

    def set_mode(self, mode: ServerMode) -> None:
        """Answer searches as a server in ``mode`` from the next request on."""
        self._mode = mode

    def set_fault(self, fault: Fault) -> None:
        """Switch to ``fault``; requests hanging under the old fault are released."""
        self._fault = fault
        self._remaining = fault.times
        self._release_hanging()

    def clear_fault(self) -> None:
        """Back to normal service."""
        self.set_fault(NO_FAULT)

    def set_latency(self, latency_ms: int) -> None:
        """Add ``latency_ms`` to every response from now on (0 turns it off)."""
        if latency_ms < 0:
            raise ValueError("latency_ms must be non-negative")
        self._latency_ms = latency_ms

    def stats(self) -> RequestStats:
        """A snapshot of the request counters."""
        return RequestStats(self._total, dict(self._counts))

    def reset_stats(self) -> None:
        """Zero the request counters."""
        self._counts.clear()
        self._total = 0

    def shut_down(self) -> None:
        """Release hanging requests for good (they answer 503): the server is stopping."""
        self._stopping = True
        self._release_hanging()

    def _release_hanging(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    def _fault_for(self, resource_type: str, later_page: bool) -> Fault:
        fault = self._fault
        if fault.kind is FaultKind.NONE and not fault.latency_ms:
            return NO_FAULT
        if fault.resource_types and resource_type not in fault.resource_types:
            return NO_FAULT
        if fault.later_pages_only and not later_page:
            return NO_FAULT
        if self._remaining is not None:
            if self._remaining <= 0:
                return NO_FAULT
            self._remaining -= 1
        return fault

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count the request, wait the added latency, then answer as the fault says.

        A FHIR ``batch`` (``POST [base]``) is one exchange: it is counted, and delayed by the
        registry's latency, once; its entries are counted and faulted one by one
        (``answer_entry``), as the requests they stand for would be."""
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        self._total += 1
        if request.method == "POST" and request.path.rstrip("/") == FHIR_BASE_PATH:
            self._counts[BATCH_COUNT] += 1
            if self._latency_ms:
                await asyncio.sleep(self._latency_ms / 1000)
            return await handler(request)
        resource_type = _resource_type(request.path)
        self._counts[resource_type] += 1
        return await self._answer(
            resource_type,
            PAGE_PARAM in request.query,
            request,
            lambda: handler(request),
            self._latency_ms,
        )

    async def answer_entry(
        self,
        request: web.Request,
        resource_type: str,
        later_page: bool,
        produce: Callable[[], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """One entry of a batch, counted and faulted as a request of its own (the registry's
        latency was waited once, for the whole batch)."""
        self._counts[resource_type] += 1
        return await self._answer(resource_type, later_page, request, produce, 0)

    async def _answer(
        self,
        resource_type: str,
        later_page: bool,
        request: web.Request,
        produce: Callable[[], Awaitable[web.StreamResponse]],
        latency_ms: int,
    ) -> web.StreamResponse:
        fault = self._fault_for(resource_type, later_page)
        delay_ms = latency_ms + fault.latency_ms
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        kind = fault.kind
        if kind is FaultKind.HTTP_500:
            return error_response(500, "exception", "injected fault: internal server error")
        if kind is FaultKind.HTTP_503:
            headers = {"Retry-After": str(fault.retry_after_s)}
            return error_response(503, "transient", "injected fault: service unavailable", headers)
        if kind is FaultKind.HANG and not await self._hang():
            return error_response(503, "transient", "the registry is shutting down")
        if kind is FaultKind.CONNECTION_REFUSED:
            # A keep-alive connection that outlived the closed port: drop it like a dead server.
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        if kind is FaultKind.NON_FHIR_BODY:
            return web.Response(body=b'{"hello": "world"}', content_type=FHIR_JSON, charset="utf-8")
        if kind is FaultKind.HTML_ERROR_PAGE:
            return web.Response(body=_HTML_ERROR_PAGE, content_type="text/html", charset="utf-8")
        response = await produce()
        if kind is FaultKind.MALFORMED_JSON and isinstance(response, web.Response):
            body = _body_of(response)
            return web.Response(
                body=body[: len(body) // 2], content_type=FHIR_JSON, charset="utf-8"
            )
        if kind is FaultKind.BROKEN_NEXT_LINK and isinstance(response, web.Response):
            return _break_next_link(response, request)
        return response

    async def _hang(self) -> bool:
        """Wait until released; True to carry on normally, False when the server is stopping."""
        wake = self._wake
        try:
            await asyncio.wait_for(wake.wait(), timeout=HANG_LIMIT_S)
        except TimeoutError:
            return False
        return not self._stopping


def _resource_type(path: str) -> str:
    """``/fhir/MedicationRequest`` → ``MedicationRequest``; ``/fhir/Binary/x`` → ``Binary``."""
    parts = path.removeprefix(FHIR_BASE_PATH).strip("/").split("/")
    return parts[0] or "(base)"


def _body_of(response: web.Response) -> bytes:
    body = response.body
    return bytes(body) if isinstance(body, bytes | bytearray) else b""


def _break_next_link(response: web.Response, request: web.Request) -> web.Response:
    try:
        bundle = orjson.loads(_body_of(response))
    except orjson.JSONDecodeError:
        return response
    for link in bundle.get("link", []) if isinstance(bundle, dict) else []:
        if link.get("relation") == "next":
            link["url"] = str(request.url.with_path(BROKEN_PAGE_PATH).with_query(request.url.query))
    return web.Response(
        body=orjson.dumps(bundle), status=response.status, content_type=FHIR_JSON, charset="utf-8"
    )
