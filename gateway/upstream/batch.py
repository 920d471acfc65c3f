"""Searches started together, sent to one source as one FHIR ``batch`` (R4 §3.1.0.11).

A summary starts most of its searches in the same moment (after the privacy read): six at the
core record, two at the prescription and laboratory registries. Sent one by one they cost one
HTTP exchange each, on both sides; a registry whose CapabilityStatement offers ``batch`` can take
them as one ``POST [base]`` of a ``Bundle`` of ``GET`` entries and answer a ``batch-response``
with one entry per search, in order. Only the first page of a search is batched; ``next`` links
are followed one by one, as before.

``SearchBatcher`` gathers: the first search submitted waits a few turns of the event loop while
others arrive (a turn, not a timer: searches resumed by the same event arrive within one or two),
then the gathered searches go as one batch, or alone when there is only one. Each search keeps
its own outcome: an entry's status is judged like a plain answer's (``raise_for_status``), and
a failure of the whole exchange is every entry's failure, retried per search as before.

What a batch must not change: each search is still checked to be the patient's, its own
deadline still bounds its wait (the exchange itself runs to the source's timeout, outside any
one request, since searches of several requests may share it), and a search whose request has
gone stops waiting without cancelling the others' exchange.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from gateway.errors import SourceBadResponse, SourceError, SourceUnavailable

MIN_TURNS: Final = 2
"""Turns of the event loop a batch always waits for more searches: a search resumed by the same
event as the first may reach the batcher a turn later (it awaited something on its way)."""
GATHER_TURNS: Final = 4
"""Turns it waits at most: past ``MIN_TURNS``, one more only while new searches keep arriving."""


@dataclass(frozen=True, slots=True)
class EntryAnswer:
    """One ``batch-response`` entry: its HTTP status and its resource (a searchset, or an
    ``OperationOutcome`` on failure), if any."""

    status: int
    resource: Mapping[str, Any] | None


ALONE: Final = EntryAnswer(0, None)
"""The answer to a search that was the only one gathered: it is sent on its own, as a GET."""


def batch_bundle(relative_urls: Sequence[str]) -> dict[str, Any]:
    """The ``batch`` Bundle asking for ``relative_urls`` (``Type?param=value…``)."""
    return {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": url}} for url in relative_urls],
    }


def entry_answers(
    source: str, label: str, bundle: Mapping[str, Any], expected: int
) -> list[EntryAnswer]:
    """The entries of a ``batch-response``, one per request in order; anything else is the
    server's fault (``SOURCE_BAD_RESPONSE``) for every search of the batch."""
    entries = bundle.get("entry") or []
    if (
        bundle.get("type") != "batch-response"
        or not isinstance(entries, list)
        or len(entries) != expected
    ):
        raise SourceBadResponse(source, f"{label} answered a batch with something else")
    answers = []
    for entry in entries:
        response = entry.get("response") if isinstance(entry, Mapping) else None
        status = response.get("status") if isinstance(response, Mapping) else None
        code = status.split(" ", 1)[0] if isinstance(status, str) else ""
        if not (len(code) == 3 and code.isdigit()):
            raise SourceBadResponse(source, f"{label} answered a batch entry without a status")
        resource = entry.get("resource")
        answers.append(EntryAnswer(int(code), resource if isinstance(resource, Mapping) else None))
    return answers


def copied(error: SourceError) -> SourceError:
    """A fresh copy of ``error`` for each search that shares it: one exception raised in
    several tasks would gather all their tracebacks."""
    copy = type(error)(error.source, str(error))
    if isinstance(error, SourceUnavailable) and isinstance(copy, SourceUnavailable):
        copy.retry_after_s = error.retry_after_s
    return copy


class SearchBatcher:
    """Gathers searches for one source and sends them with ``send`` (which answers one entry per
    URL, in order, or raises a ``SourceError`` for all)."""

    def __init__(
        self,
        send: Callable[[list[str]], Awaitable[list[EntryAnswer]]],
        max_entries: int,
    ) -> None:
        self._send = send
        self._max_entries = max_entries
        self._waiting: list[tuple[str, asyncio.Future[EntryAnswer]]] = []
        self._gathering = False
        self._flights: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak refs

    def submit(self, relative_url: str) -> asyncio.Future[EntryAnswer]:
        """The future answer to ``relative_url``: an entry of a batch, or ``ALONE``."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[EntryAnswer] = loop.create_future()
        self._waiting.append((relative_url, answer))
        if not self._gathering:
            self._gathering = True
            loop.call_soon(self._gather, 1, len(self._waiting))
        return answer

    def _gather(self, turns: int, seen: int) -> None:
        arriving = len(self._waiting) != seen and turns < GATHER_TURNS
        if turns < MIN_TURNS or arriving:
            asyncio.get_running_loop().call_soon(self._gather, turns + 1, len(self._waiting))
            return
        self._gathering = False
        waiting = [(url, answer) for url, answer in self._waiting if not answer.done()]
        self._waiting = []
        for start in range(0, len(waiting), self._max_entries):
            chunk = waiting[start : start + self._max_entries]
            if len(chunk) == 1:
                chunk[0][1].set_result(ALONE)
                continue
            # An empty context: the exchange belongs to no request (no deadline, no bindings),
            # since searches of several requests may share it.
            flight = asyncio.get_running_loop().create_task(
                self._fly(chunk), context=contextvars.Context()
            )
            self._flights.add(flight)
            flight.add_done_callback(self._flights.discard)

    async def _fly(self, chunk: list[tuple[str, asyncio.Future[EntryAnswer]]]) -> None:
        try:
            answers = await self._send([url for url, _ in chunk])
        except SourceError as error:
            for _, answer in chunk:
                if not answer.done():
                    answer.set_exception(copied(error))
            return
        except BaseException:  # cancelled at shutdown, or a bug: no search may wait for ever
            for _, answer in chunk:
                answer.cancel()
            raise
        for (_, answer), entry in zip(chunk, answers, strict=True):
            if not answer.done():
                answer.set_result(entry)
