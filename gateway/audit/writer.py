"""Group commit: concurrent requests share one transaction, and none is answered before its own
events are durable.

Each request hands its events to ``AuditWriter.commit`` and waits. One task writes: it takes every
request waiting at that moment (whole requests only, up to ``max_batch`` events), appends them in
one transaction, then wakes each of those requests with success or failure. While one commit
runs, the next batch gathers, so under load each commit carries many requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.audit.events import AuditEvent, PrivacyAlert
from gateway.audit.store import AuditStore, AuditUnavailable

if TYPE_CHECKING:
    from gateway.metrics import AuditMetrics

log = logging.getLogger("gateway.audit")


@dataclass(slots=True)
class _Pending:
    events: Sequence[AuditEvent]
    alerts: Sequence[PrivacyAlert]
    done: asyncio.Future[None]


class AuditWriter:
    """Writes requests' events to the store in shared commits."""

    def __init__(self, store: AuditStore, max_batch: int, timeout_s: float) -> None:
        self.store = store
        self._max_batch = max_batch
        self._timeout_s = timeout_s
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.commits = 0  # how many transactions were written (group commit shows as fewer)
        self.metrics: AuditMetrics | None = None  # set by the app when it serves metrics

    async def start(self) -> None:
        """Start the writing task."""
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        if not self._task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), self._timeout_s)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    @property
    def running(self) -> bool:
        """Whether the writing task is alive (``/readyz``)."""
        return self._task is not None and not self._task.done()

    async def commit(self, events: Sequence[AuditEvent], alerts: Sequence[PrivacyAlert]) -> None:
        """Return once ``events`` are durable; raise ``AuditUnavailable`` if they are not."""
        if not events:
            return
        if self._task is None or self._task.done():
            raise AuditUnavailable("the access-log writer is not running")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(events, alerts, done))
        try:
            await asyncio.wait_for(asyncio.shield(done), self._timeout_s)
        except TimeoutError as exc:
            raise AuditUnavailable("the access log did not confirm the write in time") from exc
        finally:
            # Nobody waits any more (timed out, or the request was cancelled): the writer then
            # skips this future instead of setting an exception no one reads, which asyncio
            # would log as "Future exception was never retrieved".
            done.cancel()

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0].events)
            while not self._queue.empty() and size < self._max_batch:
                pending = self._queue.get_nowait()
                batch.append(pending)
                size += len(pending.events)
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[_Pending]) -> None:
        events = [event for pending in batch for event in pending.events]
        alerts = [alert for pending in batch for alert in pending.alerts]
        started = time.perf_counter()
        try:
            await self.store.append(events, alerts)
        except AuditUnavailable as exc:
            log.error("access log write of %d events failed: %s", len(events), exc)
            failure: BaseException | None = exc
        except Exception as exc:
            log.exception("access log write of %d events failed", len(events))
            failure = AuditUnavailable(f"access log write failed ({type(exc).__name__})")
        else:
            failure = None
            self.commits += 1
        if self.metrics is not None:
            self.metrics.committed(len(events), time.perf_counter() - started, failure is None)
        for pending in batch:
            if pending.done.done():
                continue
            if failure is None:
                pending.done.set_result(None)
            else:
                pending.done.set_exception(failure)
