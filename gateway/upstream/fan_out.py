"""Per-request fan-out: each upstream search runs at most once per request, all of them at once.

``Query.patient`` starts every search the query's selection needs before it awaits anything, so a
summary costs about as much as its slowest search. Section resolvers then await the same tasks;
two sections that read the same search share one upstream call.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from gateway.errors import GatewayError, SourceError
from gateway.upstream.binding import request_bindings
from gateway.upstream.deadline import request_deadline

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where an answer came from: the registry just now, or the gateway's cache."""

    from_cache: bool = False
    fetched_at: dt.datetime | None = None
    """When the answer left the registry; None: during this request."""
    age_s: float | None = None
    """How old a cached answer was when served; None when live."""
    stale_after: SourceError | None = None
    """The failure a stale answer stands in for; None unless served stale."""


LIVE = Provenance()


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    """How one upstream search went, for ``Patient.sources``, each section's provenance and the
    access log.

    ``error`` is set when the search gave nothing usable. A stale answer is not an error: then
    ``error`` is None, ``stale_age_s`` says how old the answer is and ``stale_after`` which
    failure it stands in for.
    """

    source: str
    resource_type: str
    fetched_at: dt.datetime
    duration_ms: float
    pages: int
    truncated: bool
    entries: int
    error: GatewayError | None  # a SourceError, or the policy's denial for a withheld section
    from_cache: bool = False
    age_s: float | None = None
    stale_age_s: float | None = None
    stale_after: SourceError | None = None


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    """A search's mapped value, or the error that took its place, and how it went."""

    value: T | None
    outcome: SearchOutcome

    def unwrap(self) -> T:
        """The value; raises the source error (which becomes a GraphQL error at that path)."""
        if self.outcome.error is not None:
            raise self.outcome.error
        return cast(T, self.value)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """What a source client returns: mapped items plus the paging facts of the search."""

    items: T
    pages: int = 1
    truncated: bool = False
    entries: int = 0
    provenance: Provenance = LIVE


async def timed(source: str, resource_type: str, run: Awaitable[Page[T]]) -> Fetched[T]:
    """Run one search, time it, and turn a ``SourceError`` into an outcome instead of raising."""
    fetched_at = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    try:
        page = await run
    except SourceError as error:
        duration = (time.perf_counter() - started) * 1000
        outcome = SearchOutcome(source, resource_type, fetched_at, duration, 0, False, 0, error)
        return Fetched(None, outcome)
    duration = (time.perf_counter() - started) * 1000
    came = page.provenance
    outcome = SearchOutcome(
        source,
        resource_type,
        came.fetched_at or fetched_at,
        duration,
        page.pages,
        page.truncated,
        page.entries,
        None,
        from_cache=came.from_cache,
        age_s=came.age_s,
        stale_age_s=came.age_s if came.stale_after is not None else None,
        stale_after=came.stale_after,
    )
    return Fetched(page.items, outcome)


async def _timed_run(
    source: str, resource_type: str, run: Callable[[], Awaitable[Page[T]]]
) -> Fetched[T]:
    return await timed(source, resource_type, run())


async def all_of(*searches: asyncio.Future[Any]) -> list[Any]:
    """The results of ``searches``, like ``asyncio.gather``, but without suspending when every
    one has finished already (the warm path: answers from the cache), so that a section built
    from them can be completed at once (see ``gateway/execution/eager.py``)."""
    if all(search.done() for search in searches):
        return [search.result() for search in searches]
    return list(await asyncio.gather(*searches))


class RequestFetches:
    """The searches started for one request, keyed by source, resource type and patient.

    Each search runs in a task that carries the request's deadline
    (``gateway/upstream/deadline.py``).
    """

    def __init__(self, deadline: float | None = None) -> None:
        self._tasks: dict[tuple[str, str, str], asyncio.Future[Any]] = {}
        self._bindings: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self.deadline = deadline
        self._made_for: tuple[float | None, contextvars.Context] | None = None

    def _context(self) -> contextvars.Context:
        """A context for this request's tasks: its deadline and its patient bindings.

        Made once per request (and again only if the deadline was changed meanwhile), and shared
        by all its search tasks: copying a context and setting two variables in it cost more
        than anything else in starting a warm search. Sharing is sound because no search task
        sets a context variable in its own context (what they start with ``ensure_future``, such
        as a binding, a flight or a token renewal, runs in a copy of its own), and the tasks
        take turns on the loop, so none enters the context while another is in it.
        """
        made = self._made_for
        if made is not None and made[0] == self.deadline:
            return made[1]
        context = contextvars.copy_context()
        context.run(request_deadline.set, self.deadline)
        context.run(request_bindings.set, self._bindings)
        self._made_for = (self.deadline, context)
        return context

    def search(
        self, source: str, resource_type: str, patient: str, run: Callable[[], Awaitable[Page[T]]]
    ) -> asyncio.Future[Fetched[T]]:
        """Start the search of ``resource_type`` at ``source`` for ``patient``, or join the one
        this request already started."""
        key = (source, resource_type, patient)
        task = self._tasks.get(key)
        if task is None:
            # ``run`` is called inside the task: a task cancelled before it starts (the request
            # ended first) then leaves no search coroutine behind that was never awaited.
            task = asyncio.create_task(
                _timed_run(source, resource_type, run), context=self._context()
            )
            self._tasks[key] = task
        return task

    async def settle(self, patient: str, turns: int) -> None:
        """Let the searches started for ``patient`` run for up to ``turns`` turns of the event
        loop, fewer if all have finished sooner. Nothing is waited for but the loop itself: a
        search still running after that goes on as before, awaited by its sections."""
        for _ in range(turns):
            if all(task.done() for key, task in self._tasks.items() if key[2] == patient):
                return
            await asyncio.sleep(0)

    async def outcomes(self, patient: str) -> list[SearchOutcome]:
        """Every search started for ``patient``, once all have finished, in start order."""
        tasks = [task for key, task in self._tasks.items() if key[2] == patient]
        return [fetched.outcome for fetched in await all_of(*tasks)]

    async def aclose(self) -> None:
        """Cancel what no resolver awaited (a null parent, an error), so none outlives it."""
        pending = [task for task in self._tasks.values() if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


class DeniedFetches(RequestFetches):
    """Stands in for a request's fetches when a section is withheld: every search "fails" with
    the policy's denial at once, and nothing is sent upstream."""

    def __init__(self, denial: GatewayError) -> None:
        super().__init__()
        self._denial = denial

    def search(
        self, source: str, resource_type: str, patient: str, run: Callable[[], Awaitable[Page[T]]]
    ) -> asyncio.Future[Fetched[T]]:
        """A finished search whose error is the denial; ``run`` is never called."""
        outcome = SearchOutcome(
            source, resource_type, dt.datetime.now(dt.UTC), 0.0, 0, False, 0, self._denial
        )
        future: asyncio.Future[Fetched[T]] = asyncio.get_running_loop().create_future()
        future.set_result(Fetched(None, outcome))
        return future
