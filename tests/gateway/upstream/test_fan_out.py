"""The per-request fan-out (``gateway/upstream/fan_out.py``) on its own: one task per search,
outcomes instead of exceptions, a withheld section's stand-in, cancellation at the end of the
request, and ``all_of`` that does not suspend when everything is done."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from gateway.access.policy import Forbidden
from gateway.errors import SourceUnavailable
from gateway.upstream.deadline import remaining, request_deadline
from gateway.upstream.fan_out import (
    DeniedFetches,
    Fetched,
    Page,
    Provenance,
    RequestFetches,
    all_of,
)

NIN = "15828512339"
OTHER_NIN = "01819042000"


class Search:
    """A search the test controls: counts its calls, can be held open, fails on request."""

    def __init__(self, items: list[str] | None = None, error: Exception | None = None) -> None:
        self.items = items if items is not None else ["item"]
        self.error = error
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.cancelled = False
        self.seen_deadline: float | None = None

    async def __call__(self) -> Page[list[str]]:
        self.calls += 1
        self.seen_deadline = request_deadline.get()
        if self.gate is not None:
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        if self.error is not None:
            raise self.error
        return Page(self.items, pages=2, truncated=True, entries=len(self.items))


async def test_one_task_per_source_resource_type_and_patient() -> None:
    fetches = RequestFetches()
    search = Search(["a"])
    first = fetches.search("prescriptions", "MedicationRequest", NIN, search)
    again = fetches.search("prescriptions", "MedicationRequest", NIN, search)
    assert again is first
    other_type = fetches.search("prescriptions", "MedicationDispense", NIN, search)
    other_patient = fetches.search("prescriptions", "MedicationRequest", OTHER_NIN, search)
    other_source = fetches.search("lab_results", "MedicationRequest", NIN, search)
    assert len({id(first), id(other_type), id(other_patient), id(other_source)}) == 4
    results = await asyncio.gather(first, other_type, other_patient, other_source)
    assert search.calls == 4
    assert [fetched.unwrap() for fetched in results] == [["a"]] * 4
    await fetches.aclose()


async def test_every_search_is_under_way_before_any_has_answered() -> None:
    # The fan-out's promise without a stopwatch: all searches are out at once, so a summary
    # costs its slowest search, not their sum.
    fetches = RequestFetches()
    gate = asyncio.Event()
    searches = [Search([name]) for name in ("a", "b", "c")]
    for search in searches:
        search.gate = gate
    tasks = [
        fetches.search("lab_results", resource_type, NIN, search)
        for resource_type, search in zip(("A", "B", "C"), searches, strict=True)
    ]
    await asyncio.sleep(0)
    assert [search.calls for search in searches] == [1, 1, 1]
    assert not any(task.done() for task in tasks)
    gate.set()
    assert [(await task).unwrap() for task in tasks] == [["a"], ["b"], ["c"]]


async def test_a_search_runs_in_a_task_even_before_anyone_awaits_it() -> None:
    fetches = RequestFetches()
    search = Search()
    task = fetches.search("documents", "DocumentReference", NIN, search)
    assert search.calls == 0  # started, not yet run: ``run`` is called inside the task
    await asyncio.sleep(0)
    assert search.calls == 1
    await task


async def test_a_successful_search_reports_its_paging_facts() -> None:
    fetched: Fetched[list[str]] = await RequestFetches().search(
        "lab_results", "DiagnosticReport", NIN, Search(["r1", "r2"])
    )
    assert fetched.unwrap() == ["r1", "r2"]
    outcome = fetched.outcome
    assert (outcome.source, outcome.resource_type) == ("lab_results", "DiagnosticReport")
    assert (outcome.pages, outcome.truncated, outcome.entries) == (2, True, 2)
    assert outcome.error is None
    assert not outcome.from_cache


async def test_a_source_error_becomes_an_outcome_and_unwrap_raises_it() -> None:
    error = SourceUnavailable("lab_results", "the lab results registry answered 503")
    fetched = await RequestFetches().search(
        "lab_results", "DiagnosticReport", NIN, Search(error=error)
    )
    assert fetched.value is None
    assert fetched.outcome.error is error
    assert fetched.outcome.pages == 0
    with pytest.raises(SourceUnavailable) as raised:
        fetched.unwrap()
    assert raised.value is error


async def test_an_error_that_is_not_a_source_error_is_not_swallowed() -> None:
    task = RequestFetches().search(
        "lab_results", "DiagnosticReport", NIN, Search(error=RuntimeError("a bug"))
    )
    with pytest.raises(RuntimeError, match="a bug"):
        await task


async def test_a_stale_page_says_what_it_stands_in_for() -> None:
    failure = SourceUnavailable("prescriptions", "down")
    stored = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)

    async def stale() -> Page[list[str]]:
        came = Provenance(from_cache=True, fetched_at=stored, age_s=120.0, stale_after=failure)
        return Page(["old"], provenance=came)

    fetches = RequestFetches()
    outcome = (await fetches.search("prescriptions", "MedicationRequest", NIN, stale)).outcome
    assert outcome.error is None
    assert outcome.from_cache
    assert outcome.fetched_at == stored
    assert (outcome.age_s, outcome.stale_age_s) == (120.0, 120.0)
    assert outcome.stale_after is failure


async def test_every_search_carries_the_request_deadline() -> None:
    deadline = asyncio.get_running_loop().time() + 60
    fetches = RequestFetches(deadline=deadline)
    search = Search()
    await fetches.search("gp_registry", "PractitionerRole", NIN, search)
    assert search.seen_deadline == deadline
    # The caller's own context is left as it was.
    assert request_deadline.get() is None
    assert remaining() is None


async def test_outcomes_lists_one_patients_searches_in_start_order() -> None:
    fetches = RequestFetches()
    fetches.search("core_record", "Patient", NIN, Search())
    fetches.search("prescriptions", "MedicationRequest", OTHER_NIN, Search())
    fetches.search("lab_results", "DiagnosticReport", NIN, Search())
    outcomes = await fetches.outcomes(NIN)
    assert [(o.source, o.resource_type) for o in outcomes] == [
        ("core_record", "Patient"),
        ("lab_results", "DiagnosticReport"),
    ]
    await fetches.aclose()


async def test_aclose_cancels_what_nobody_awaited_and_leaves_finished_searches_alone() -> None:
    fetches = RequestFetches()
    finished = fetches.search("core_record", "Patient", NIN, Search(["done"]))
    await finished
    hanging = Search()
    hanging.gate = asyncio.Event()
    pending = fetches.search("documents", "DocumentReference", NIN, hanging)
    await asyncio.sleep(0)  # the task starts and waits on its gate
    assert hanging.calls == 1
    await fetches.aclose()
    assert pending.cancelled()
    assert hanging.cancelled
    assert finished.result().unwrap() == ["done"]


async def test_aclose_cancels_a_search_that_never_started_without_calling_it() -> None:
    fetches = RequestFetches()
    search = Search()
    task = fetches.search("documents", "DocumentReference", NIN, search)
    await fetches.aclose()
    assert task.cancelled()
    assert search.calls == 0


async def test_denied_fetches_fail_at_once_with_the_denial_and_send_nothing() -> None:
    denial = Forbidden("not in your role")
    fetches = DeniedFetches(denial)
    search = Search()
    future = fetches.search("documents", "DocumentReference", NIN, search)
    assert future.done()
    fetched = future.result()
    assert fetched.outcome.error is denial
    assert (fetched.outcome.source, fetched.outcome.resource_type) == (
        "documents",
        "DocumentReference",
    )
    with pytest.raises(Forbidden):
        fetched.unwrap()
    await asyncio.sleep(0)
    assert search.calls == 0


def _finished(value: Any) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


async def test_all_of_finished_searches_returns_without_suspending() -> None:
    coroutine = all_of(_finished(1), _finished(2))
    # Driven by hand: a coroutine that never suspends ends on its first step.
    with pytest.raises(StopIteration) as ended:
        coroutine.send(None)
    assert ended.value.value == [1, 2]


async def test_all_of_waits_like_gather_when_one_is_pending() -> None:
    pending: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    gathered = asyncio.create_task(all_of(_finished(1), pending))
    await asyncio.sleep(0)
    assert not gathered.done()
    pending.set_result(2)
    assert await gathered == [1, 2]


async def test_all_of_raises_a_finished_searchs_exception() -> None:
    failed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    failed.set_exception(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        await all_of(_finished(1), failed)


async def test_searches_started_after_the_deadline_changed_carry_the_new_one() -> None:
    # The search tasks of a request share one context; it must follow the deadline it holds.
    loop = asyncio.get_running_loop()
    fetches = RequestFetches(deadline=loop.time() + 60)
    first, second = Search(), Search()
    await fetches.search("gp_registry", "PractitionerRole", NIN, first)
    fetches.deadline = loop.time() + 30
    await fetches.search("visit_history", "Encounter", NIN, second)
    assert first.seen_deadline != second.seen_deadline
    assert second.seen_deadline == fetches.deadline


async def test_settle_lets_searches_that_need_a_few_turns_of_the_loop_finish() -> None:
    class FewTurns(Search):
        async def __call__(self) -> Page[list[str]]:
            for _ in range(3):
                await asyncio.sleep(0)
            return await super().__call__()

    fetches = RequestFetches()
    task = fetches.search("prescriptions", "MedicationRequest", NIN, FewTurns())
    await fetches.settle(NIN, 6)
    assert task.done()


async def test_settle_gives_up_on_a_search_that_waits_for_more_than_the_loop() -> None:
    fetches = RequestFetches()
    held = Search()
    held.gate = asyncio.Event()
    task = fetches.search("lab_results", "DiagnosticReport", NIN, held)
    await fetches.settle(NIN, 6)
    assert not task.done()
    held.gate.set()
    assert (await task).value == ["item"]
