"""The access log in SQLite: the default, one file in the data directory.

All database work runs on one dedicated thread with one connection, so the event loop never
blocks on disk. The journal is WAL with ``synchronous=FULL``: a commit returns only once it is
on disk. Triggers refuse UPDATE and DELETE on the log, for every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple
from pathlib import Path
from typing import BinaryIO, TypeVar

from gateway.audit.events import (
    GENESIS,
    AuditEvent,
    PrivacyAlert,
    StoredEvent,
    chain,
    column_values,
)
from gateway.audit.events import event_from_row as _event
from gateway.audit.store import (
    ALERT_COLUMNS,
    EVENT_COLUMNS,
    AuditStore,
    AuditUnavailable,
    LogQuery,
    StoredAlert,
    log_query_sql,
)

T = TypeVar("T")

_INTEGER = frozenset({"emergency", "restricted_opened", "from_cache", "stale_age_ms"})
_COLUMN_DEFS = ", ".join(f"{c} {'INTEGER' if c in _INTEGER else 'TEXT'}" for c in EVENT_COLUMNS[1:])
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS audit_events (
    seq INTEGER PRIMARY KEY,
    {_COLUMN_DEFS}
);
CREATE INDEX IF NOT EXISTS audit_events_patient ON audit_events (patient, seq);
CREATE TABLE IF NOT EXISTS privacy_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    {", ".join(f"{c} TEXT" for c in ALERT_COLUMNS)}
);
CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS privacy_alerts_no_update BEFORE UPDATE ON privacy_alerts
BEGIN SELECT RAISE(ABORT, 'privacy alerts are append-only'); END;
CREATE TRIGGER IF NOT EXISTS privacy_alerts_no_delete BEFORE DELETE ON privacy_alerts
BEGIN SELECT RAISE(ABORT, 'privacy alerts are append-only'); END;
"""

_INSERT_EVENT = (
    f"INSERT INTO audit_events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
)
_INSERT_ALERT = (
    f"INSERT INTO privacy_alerts ({', '.join(ALERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in ALERT_COLUMNS)})"
)
_SELECT_EVENTS = f"SELECT {', '.join(EVENT_COLUMNS)} FROM audit_events"


def _stored(row: Sequence[object]) -> StoredEvent:
    return StoredEvent(int(str(row[0])), _event(row[1:-2]), str(row[-2]), str(row[-1]))


class SqliteAuditStore(AuditStore):
    """The access log in one SQLite file."""

    def __init__(self, path: Path, busy_timeout_s: float) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-sqlite")
        self._db: sqlite3.Connection | None = None
        self._writers: BinaryIO | None = None  # the lock file writers take turns on

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            if self._db is None:
                raise AuditUnavailable("the access log is not open")
            try:
                return work(self._db)
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.rollback()
                raise AuditUnavailable(f"access log write failed ({type(exc).__name__})") from exc

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def open(self) -> None:
        def connect() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = self.path.with_name(f"{self.path.name}.lock")
            self._writers = os.fdopen(os.open(lock, os.O_RDWR | os.O_CREAT, 0o600), "rb")
            # Taken for the set-up too: two workers starting at once on a new file would race
            # to switch it to WAL, and SQLite refuses the loser at once ("database is locked")
            # rather than making it wait.
            with self._writer_turn():
                db = sqlite3.connect(
                    self.path,
                    timeout=self._busy_timeout_s,
                    isolation_level=None,  # explicit BEGIN/COMMIT below
                    check_same_thread=False,
                )
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                db.executescript(_SCHEMA)
            self._db = db

        await asyncio.get_running_loop().run_in_executor(self._executor, connect)

    async def close(self) -> None:
        def disconnect() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._writers is not None:
                self._writers.close()
                self._writers = None

        await asyncio.get_running_loop().run_in_executor(self._executor, disconnect)
        self._executor.shutdown(wait=True)

    async def append(self, events: Sequence[AuditEvent], alerts: Sequence[PrivacyAlert]) -> None:
        def write(db: sqlite3.Connection) -> None:
            # Writers of every process take turns on a file lock first. SQLite alone would make
            # a second process's writer sleep and retry (1, 2, 5, 10 ms…) while the first
            # commits: with two workers that cost a third of the throughput. The kernel wakes
            # the next writer as soon as the lock is free (and frees it if its holder dies).
            with self._writer_turn():
                # IMMEDIATE takes the write lock before reading the head: no other writer, in
                # this process or another, can link to the same head.
                db.execute("BEGIN IMMEDIATE")
                head = db.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                last = head.fetchone()
                last_seq, last_hash = (int(last[0]), str(last[1])) if last else (0, GENESIS)
                stored = chain(last_seq, last_hash, list(events))
                db.executemany(
                    _INSERT_EVENT,
                    [(s.seq, *column_values(s.event), s.prev_hash, s.hash) for s in stored],
                )
                db.executemany(_INSERT_ALERT, [astuple(alert) for alert in alerts])
                db.execute("COMMIT")

        await self._run(write)

    @contextlib.contextmanager
    def _writer_turn(self) -> Iterator[None]:
        if self._writers is None:
            raise AuditUnavailable("the access log is not open")
        fcntl.flock(self._writers.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._writers.fileno(), fcntl.LOCK_UN)

    async def scan(self, after_seq: int, limit: int) -> list[StoredEvent]:
        def read(db: sqlite3.Connection) -> list[StoredEvent]:
            rows = db.execute(
                f"{_SELECT_EVENTS} WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
            )
            return [_stored(row) for row in rows]

        return await self._run(read)

    async def accesses(self, query: LogQuery) -> list[list[StoredEvent]]:
        sql, params = log_query_sql(query)

        def read(db: sqlite3.Connection) -> list[list[StoredEvent]]:
            groups = db.execute(sql, params).fetchall()
            result = []
            for access_id, _last in groups:
                rows = db.execute(
                    f"{_SELECT_EVENTS} WHERE access_id = ? AND patient = ? ORDER BY seq",
                    (access_id, query.patient),
                )
                result.append([_stored(row) for row in rows])
            return result

        return await self._run(read)

    async def alerts(self, first: int, before_id: int | None) -> list[StoredAlert]:
        def read(db: sqlite3.Connection) -> list[StoredAlert]:
            rows = db.execute(
                f"SELECT id, {', '.join(ALERT_COLUMNS)} FROM privacy_alerts WHERE id < ? "
                "ORDER BY id DESC LIMIT ?",
                (before_id if before_id is not None else 2**62, first),
            )
            return [StoredAlert(int(row[0]), PrivacyAlert(*row[1:])) for row in rows]

        return await self._run(read)

    async def ping(self) -> None:
        await self._run(lambda db: db.execute("SELECT 1").fetchone())
