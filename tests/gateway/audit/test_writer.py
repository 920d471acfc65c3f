"""Group commit and answers that did not leave: a request that stopped waiting for its commit
(and answered ``AUDIT_UNAVAILABLE``) must never show in the log as a delivered access."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from gateway.audit.events import AuditEvent, ChainedAlert, Outcome, PrivacyAlert, StoredEvent
from gateway.audit.store import (
    AuditInDoubt,
    AuditStore,
    AuditUnavailable,
    LogQuery,
    StoredAlert,
)
from gateway.audit.verify import verify
from gateway.audit.writer import AuditWriter
from tests.audit_support import Backend, make_alert, make_batch

P = "01010112345"


async def _log(store: AuditStore, *, delivered_only: bool) -> list[str]:
    groups = await store.accesses(LogQuery(P, 20, delivered_only=delivered_only))
    return [group[0].event.access_id for group in groups]


async def test_answers_refused_while_the_log_was_stuck_are_not_logged_as_delivered(
    backend: Backend,
) -> None:
    # The store waits up to 5 s for its lock; the requests wait 0.5 s for their commit.
    log_store = backend.store(timeout_s=5.0)
    await log_store.open()
    writer = AuditWriter(log_store, max_batch=500, timeout_s=0.5)
    await writer.start()
    try:
        await writer.commit(make_batch("before", 1, patient=P), [])
        async with backend.hold_chain_lock():
            # Taken by the writer at once, then stuck on the lock: in flight when it times out.
            in_flight = asyncio.create_task(
                writer.commit(
                    make_batch("in-flight", 2, patient=P, emergency=True),
                    [make_alert("emergency", "in-flight")],
                )
            )
            await asyncio.sleep(0.1)
            # Queued behind it: still waiting for its turn when it times out.
            queued = asyncio.create_task(writer.commit(make_batch("queued", 2, patient=P), []))
            outcomes = await asyncio.gather(in_flight, queued, return_exceptions=True)
            assert [type(o) for o in outcomes] == [AuditUnavailable, AuditUnavailable]
            await asyncio.sleep(0.2)  # the lock is held a little longer: a slow backup
        # Released: the in-flight batch commits now, long after its request answered.
        await writer.commit(make_batch("after", 1, patient=P), [])
    finally:
        await writer.stop()

    try:
        records = await log_store.scan(0, 1000)
        report = await verify(log_store)
        patients_view = await _log(log_store, delivered_only=True)
        officers_view = await _log(log_store, delivered_only=False)
    finally:
        await log_store.close()

    assert report.ok, report.problem
    outcomes_by_access: dict[str, list[str]] = {}
    for record in records:
        outcomes_by_access.setdefault(record.event.access_id, []).append(record.event.outcome)
    # Withdrawn before it was written: no trace.
    assert "queued" not in outcomes_by_access
    # Written after its request gave up: each event is followed by its NOT_DELIVERED mark.
    assert (
        outcomes_by_access["in-flight"]
        == [Outcome.GRANTED.value] * 2 + [Outcome.NOT_DELIVERED.value] * 2
    )
    assert patients_view == ["after", "before"]
    assert officers_view == ["after", "in-flight", "before"]


class CommitAnswerLost(AuditStore):
    """A store whose first append commits and then loses the answer, as a connection cut
    between COMMIT and its reply does; its first NOT_DELIVERED marks fail, as a store still
    recovering does. Everything else goes to the real store."""

    def __init__(self, real: AuditStore) -> None:
        self.real = real
        self.appends = 0

    async def open(self) -> None:
        await self.real.open()

    async def close(self) -> None:
        await self.real.close()

    async def append(self, events: Sequence[AuditEvent], alerts: Sequence[PrivacyAlert]) -> None:
        self.appends += 1
        if self.appends == 2:
            raise AuditUnavailable("still recovering")
        await self.real.append(events, alerts)
        if self.appends == 1:
            raise AuditInDoubt("the commit's answer was lost")

    async def scan(self, after_seq: int | None, limit: int) -> list[StoredEvent]:
        return await self.real.scan(after_seq, limit)

    async def scan_alerts(self, after_seq: int | None, limit: int) -> list[ChainedAlert]:
        return await self.real.scan_alerts(after_seq, limit)

    async def accesses(self, query: LogQuery) -> list[list[StoredEvent]]:
        return await self.real.accesses(query)

    async def alerts(self, first: int, before_id: int | None) -> list[StoredAlert]:
        return await self.real.alerts(first, before_id)

    async def ping(self) -> None:
        await self.real.ping()


async def test_a_commit_whose_answer_was_lost_is_marked_not_delivered(
    backend: Backend,
) -> None:
    store = CommitAnswerLost(backend.store())
    await store.open()
    writer = AuditWriter(store, max_batch=500, timeout_s=2.0)
    await writer.start()
    try:
        with pytest.raises(AuditUnavailable):
            await writer.commit(make_batch("lost", 2, patient=P), [])
        # The marks could not be written at once; they follow the next commit.
        await writer.commit(make_batch("next", 1, patient=P), [])
    finally:
        await writer.stop()
    try:
        records = await store.scan(0, 1000)
        assert (await verify(store)).ok
        assert await _log(store, delivered_only=True) == ["next"]
        # The officer's view is ordered by each access's newest record: here, its marks.
        assert await _log(store, delivered_only=False) == ["lost", "next"]
    finally:
        await store.close()
    assert [(r.event.access_id, r.event.outcome) for r in records] == [
        ("lost", Outcome.GRANTED.value),
        ("lost", Outcome.GRANTED.value),
        ("next", Outcome.GRANTED.value),
        ("lost", Outcome.NOT_DELIVERED.value),
        ("lost", Outcome.NOT_DELIVERED.value),
    ]
