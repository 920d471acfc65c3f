"""Memoised answers: a repeated FHIR read costs a dictionary lookup, not a search and an encode.

For the benchmark only, and never the default (``MockServer(..., memoise=True)`` turns it on):
there the registries answer the same few hundred searches again and again, and their CPU would
otherwise be counted against the gateway's fan-out. Tests and the demo keep computing every
answer, so an answer always shows the population as it is.

The memo is the innermost middleware, inside the fault injector: latency, faults and the request
counters apply to every request, memoised or not. An answer is keyed by everything it depends on:
the method, the URL as sent (its origin makes the ``fullUrl``s, its query, in the order given, is
echoed in the ``self`` link), the ``Accept`` header (``Binary`` reads) and the server mode. Only
200 answers are kept. Any write over HTTP clears it (a ``POST`` to the base excepted: a FHIR
``batch`` only reads, and its entries are answered through the memo too, ``entries``); edits
made through Python (``Population.edits``) do not, so a server that memoises is changed only
over HTTP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from yarl import URL

from mocks.faults import FaultInjector
from mocks.modes import ServerMode
from mocks.sources import FHIR_BASE_PATH

_READS = frozenset({hdrs.METH_GET, hdrs.METH_HEAD})
_WRITES = frozenset({hdrs.METH_POST, hdrs.METH_PUT, hdrs.METH_PATCH, hdrs.METH_DELETE})
_BASE_PATHS = frozenset({FHIR_BASE_PATH, f"{FHIR_BASE_PATH}/"})
# Recomputed by aiohttp for each response sent; the rest of the headers are the answer's own.
_SENT_HEADERS = frozenset({hdrs.CONTENT_LENGTH.lower(), hdrs.DATE.lower(), hdrs.SERVER.lower()})

_Key = tuple[str, str, str, ServerMode]
MEMO_KEY = "mocks.memo"
"""Where a batch request finds the memo (``AnswerMemo.entries``): its entries are reads too."""
EntryAnswer = Callable[[URL], Awaitable[web.Response]]


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]

    def response(self) -> web.Response:
        return web.Response(body=self.body, status=self.status, headers=self.headers)


class AnswerMemo:
    """The encoded answers of one registry's reads, until the next write."""

    def __init__(self, injector: FaultInjector) -> None:
        self._injector = injector
        self._answers: dict[_Key, _Answer] = {}
        self._generation = 0

    def __len__(self) -> int:
        return len(self._answers)

    def clear(self) -> None:
        """Forget every answer (a write may have changed any of them)."""
        self._answers.clear()
        self._generation += 1

    def entries(self, answer: EntryAnswer) -> EntryAnswer:
        """``answer`` (a batch entry's, by its absolute URL) answered from the memo when it can
        be: a batch's GETs are the same reads as the requests alone."""

        async def memoised(url: URL) -> web.Response:
            key = (hdrs.METH_GET, str(url), "", self._injector.mode)
            kept = self._answers.get(key)
            if kept is not None:
                return kept.response()
            generation = self._generation
            response = await answer(url)
            self._keep(key, generation, response)
            return response

        return memoised

    def _keep(self, key: _Key, generation: int, response: web.StreamResponse) -> None:
        if (
            generation == self._generation
            and type(response) is web.Response
            and response.status == 200
            and isinstance(response.body, bytes)
        ):
            headers = tuple(
                (name, value)
                for name, value in response.headers.items()
                if name.lower() not in _SENT_HEADERS
            )
            self._answers[key] = _Answer(response.status, response.body, headers)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Answer a repeated read from the memo; clear it after any write."""
        if _is_batch(request):
            request[MEMO_KEY] = self
            return await handler(request)
        if request.method in _WRITES:
            try:
                return await handler(request)
            finally:
                self.clear()
        if request.method not in _READS or not request.path.startswith(FHIR_BASE_PATH):
            return await handler(request)
        key = (
            request.method,
            str(request.url),
            request.headers.get(hdrs.ACCEPT, ""),
            self._injector.mode,
        )
        kept = self._answers.get(key)
        if kept is not None:
            return kept.response()
        # A write finishing while this read awaited would make its answer stale on arrival.
        generation = self._generation
        response = await handler(request)
        self._keep(key, generation, response)
        return response


def _is_batch(request: web.Request) -> bool:
    return request.method == hdrs.METH_POST and request.path in _BASE_PATHS
