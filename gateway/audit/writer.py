"""Group commit: concurrent requests share one transaction, and none is answered before its own
events are durable.

Each request hands its events to ``AuditWriter.commit`` and waits. One task writes: it takes every
request waiting at that moment (whole requests only, up to ``max_batch`` events), appends them in
one transaction, then wakes each of those requests with success or failure. While one commit
runs, the next batch gathers, so under load each commit carries many requests.

A request waits ``timeout_s`` at most, then answers ``AUDIT_UNAVAILABLE`` with no data. Its
events must then never read as a delivered access:

- still queued: they are withdrawn, never written (the usual case: the requests behind a stuck
  commit);
- already on their way in a commit that then succeeds (or whose outcome the store could not
  know, ``AuditInDoubt``): a ``NOT_DELIVERED`` mark for each event follows at once, in a commit
  of its own; the patient's view of the log leaves both out. A mark that cannot be written is
  retried with the next commit, and at shutdown.

Why marks, and not holding the answer until the commit's outcome is known: the store's own
timeouts are several times the request's, and a request must fail closed in its own time. Why
not marks for everything: withdrawing a queued request is exact and writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.audit.events import AuditEvent, PrivacyAlert, not_delivered
from gateway.audit.store import AuditInDoubt, AuditStore, AuditUnavailable

if TYPE_CHECKING:
    from gateway.ops.metrics import AuditMetrics

log = logging.getLogger("gateway.audit")


@dataclass(slots=True)
class _Pending:
    events: Sequence[AuditEvent]
    alerts: Sequence[PrivacyAlert]
    done: asyncio.Future[None]
    given_up: bool = False  # the request answered without these events being durable


def _committed(done: asyncio.Future[None]) -> bool:
    return done.done() and not done.cancelled() and done.exception() is None


class AuditWriter:
    """Writes requests' events to the store in shared commits."""

    def __init__(self, store: AuditStore, max_batch: int, timeout_s: float) -> None:
        self.store = store
        self._max_batch = max_batch
        self._timeout_s = timeout_s
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._owed: list[AuditEvent] = []  # NOT_DELIVERED marks not yet written
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
        if self._owed:
            await self._mark([])

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
        pending = _Pending(events, alerts, done)
        self._queue.put_nowait(pending)
        try:
            await asyncio.wait_for(asyncio.shield(done), self._timeout_s)
        except TimeoutError as exc:
            if _committed(done):
                return  # made durable at the last moment: the answer may leave
            pending.given_up = True
            raise AuditUnavailable("the access log did not confirm the write in time") from exc
        except asyncio.CancelledError:
            if not _committed(done):
                pending.given_up = True  # the request is gone: no answer leaves
            raise
        finally:
            # Nobody waits any more (timed out, or the request was cancelled): cancelled, the future
            # can never hold an exception no one reads (asyncio would log "Future exception was
            # never retrieved"); the writer skips it.
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
        live = [pending for pending in batch if not pending.given_up]
        if len(live) < len(batch):
            log.warning(
                "withdrew %d queued access-log commits whose requests had answered without them",
                len(batch) - len(live),
            )
        if not live:
            return
        events = [event for pending in live for event in pending.events]
        alerts = [alert for pending in live for alert in pending.alerts]
        started = time.perf_counter()
        in_doubt = False
        try:
            await self.store.append(events, alerts)
        except AuditInDoubt as exc:
            log.error("access log write of %d events may have failed: %s", len(events), exc)
            failure: BaseException | None = exc
            in_doubt = True
        except AuditUnavailable as exc:
            log.error("access log write of %d events failed: %s", len(events), exc)
            failure = exc
        except Exception as exc:
            log.exception("access log write of %d events failed", len(events))
            failure = AuditUnavailable(f"access log write failed ({type(exc).__name__})")
        else:
            failure = None
            self.commits += 1
        if self.metrics is not None:
            self.metrics.committed(len(events), time.perf_counter() - started, failure is None)
        for pending in live:
            if pending.done.done() or pending.given_up:  # nobody waits for it any more
                continue
            if failure is None:
                pending.done.set_result(None)
            else:
                pending.done.set_exception(failure)
        # Written (or perhaps written) for requests that answered AUDIT_UNAVAILABLE meanwhile.
        late = live if in_doubt else [pending for pending in live if pending.given_up]
        if late or (self._owed and failure is None):
            await self._mark([event for pending in late for event in pending.events])

    async def _mark(self, events: list[AuditEvent]) -> None:
        """Write a NOT_DELIVERED mark for each of ``events`` and any still owed."""
        marks = [*self._owed, *(not_delivered(event) for event in events)]
        try:
            await self.store.append(marks, [])
        except Exception as exc:
            log.error("%d NOT_DELIVERED marks could not be written yet (%s)", len(marks), exc)
            self._owed = marks
        else:
            self._owed = []
