"""SearchBatcher (gateway/upstream/batch.py): what it gathers, how it splits, and that every
search gets its own outcome. The exchange itself is tested over real HTTP in
tests/e2e/test_batch.py and against the independent server in tests/fhir_server."""

from __future__ import annotations

import asyncio

import pytest

from gateway.errors import SourceBadResponse, SourceUnavailable
from gateway.upstream.batch import (
    ALONE,
    GATHER_TURNS,
    EntryAnswer,
    SearchBatcher,
    entry_answers,
)


class Sent:
    """The ``send`` a batcher is given: records each batch and answers 200 per entry."""

    def __init__(self, fail: Exception | None = None, hold: asyncio.Event | None = None) -> None:
        self.batches: list[list[str]] = []
        self._fail = fail
        self._hold = hold

    async def __call__(self, urls: list[str]) -> list[EntryAnswer]:
        self.batches.append(urls)
        if self._hold is not None:
            await self._hold.wait()
        if self._fail is not None:
            raise self._fail
        return [EntryAnswer(200, {"resourceType": "Bundle", "id": url}) for url in urls]


async def _later(batcher: SearchBatcher, url: str, turns: int) -> asyncio.Future[EntryAnswer]:
    for _ in range(turns):
        await asyncio.sleep(0)
    return batcher.submit(url)


async def test_searches_arriving_turn_after_turn_go_as_one_batch() -> None:
    """Each arrives a turn of the event loop after the one before: the batch keeps waiting
    while they come (up to GATHER_TURNS), then goes with all of them."""
    sent = Sent()
    batcher = SearchBatcher(sent, max_entries=20)
    first = batcher.submit("Flag?x")
    later = await asyncio.gather(*(_later(batcher, f"T{i}?x", i) for i in range(3)))
    answers = await asyncio.gather(first, *later)
    assert sent.batches == [["Flag?x", "T0?x", "T1?x", "T2?x"]]
    assert [a.resource["id"] for a in answers if a.resource] == sent.batches[0]


async def test_a_search_arriving_after_the_batch_left_waits_for_the_next() -> None:
    sent = Sent()
    batcher = SearchBatcher(sent, max_entries=20)
    first = [batcher.submit("A?x"), batcher.submit("B?x")]
    late = await _later(batcher, "C?x", GATHER_TURNS + 2)
    assert (await asyncio.gather(*first))[0].status == 200
    assert await late is ALONE
    assert sent.batches == [["A?x", "B?x"]]


async def test_a_lone_search_is_sent_alone_and_a_long_batch_is_split() -> None:
    sent = Sent()
    batcher = SearchBatcher(sent, max_entries=3)
    assert await batcher.submit("Flag?x") is ALONE
    assert sent.batches == []
    answers = await asyncio.gather(*(batcher.submit(f"T{i}?x") for i in range(7)))
    assert sent.batches == [["T0?x", "T1?x", "T2?x"], ["T3?x", "T4?x", "T5?x"]]
    assert answers[-1] is ALONE  # the seventh was left alone in its chunk


async def test_a_failed_exchange_fails_each_search_with_its_own_copy() -> None:
    error = SourceUnavailable("core_record", "the core record registry answered HTTP 503", 2.0)
    batcher = SearchBatcher(Sent(fail=error), max_entries=20)
    futures = [batcher.submit(f"T{i}?x") for i in range(2)]
    raised = await asyncio.gather(*futures, return_exceptions=True)
    assert all(isinstance(e, SourceUnavailable) for e in raised)
    assert raised[0] is not raised[1] and raised[0] is not error
    assert all(e.retry_after_s == 2.0 and str(e) == str(error) for e in raised)  # type: ignore[union-attr]


async def test_a_search_that_stops_waiting_leaves_the_batch_to_the_others() -> None:
    hold = asyncio.Event()
    sent = Sent(hold=hold)
    batcher = SearchBatcher(sent, max_entries=20)
    gone = asyncio.ensure_future(asyncio.shield(batcher.submit("A?x")))
    staying = batcher.submit("B?x")
    for _ in range(5):
        await asyncio.sleep(0)
    gone.cancel()
    hold.set()
    answer = await staying
    assert answer.status == 200
    assert sent.batches == [["A?x", "B?x"]]


def test_a_batch_response_is_read_entry_by_entry_or_refused_whole() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch-response",
        "entry": [
            {"response": {"status": "200 OK"}, "resource": {"resourceType": "Bundle"}},
            {"response": {"status": "503"}},
        ],
    }
    first, second = entry_answers("core_record", "the registry", bundle, 2)
    assert (first.status, second.status, second.resource) == (200, 503, None)
    for broken in (
        {**bundle, "type": "transaction-response"},
        {**bundle, "entry": bundle["entry"][:1]},
        {**bundle, "entry": [{"response": {"status": "OK"}}, {"response": {}}]},
    ):
        with pytest.raises(SourceBadResponse):
            entry_answers("core_record", "the registry", broken, 2)
