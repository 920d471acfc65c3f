"""The access log in SQLite: the default, one file in the data directory.

All database work runs on one dedicated thread with one connection, so the event loop never
blocks on disk. The journal is WAL with ``synchronous=FULL``: a commit returns only once it is
on disk. Triggers refuse UPDATE and DELETE on the log, for every connection; the tables and
their CHECK constraints are in ``sqlite_schema``.
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

from gateway.audit import sqlite_schema
from gateway.audit.events import (
    GENESIS,
    AuditEvent,
    ChainedAlert,
    PrivacyAlert,
    StoredEvent,
    chain,
    column_values,
)
from gateway.audit.store import (
    ALERTS_PAGE_SQL,
    EVENT_COLUMNS,
    STORED_ALERT_COLUMNS,
    AuditStore,
    AuditUnavailable,
    LogQuery,
    StoredAlert,
    access_events_sql,
    log_query_sql,
    scan_sql,
    stored_alert,
    stored_event,
)

T = TypeVar("T")

_INSERT_EVENT = (
    f"INSERT INTO audit_events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
)
_CHAINED_ALERT_COLUMNS = STORED_ALERT_COLUMNS[1:]  # the id is the table's to give
_INSERT_ALERT = (
    f"INSERT INTO privacy_alerts ({', '.join(_CHAINED_ALERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _CHAINED_ALERT_COLUMNS)})"
)
_HEAD = (
    "SELECT seq, hash FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events) "
    "UNION ALL "
    "SELECT seq, hash FROM privacy_alerts WHERE seq = (SELECT MAX(seq) FROM privacy_alerts) "
    "ORDER BY seq DESC LIMIT 1"
)


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
            try:
                self._db = self._connect()
            except BaseException:
                self._writers.close()
                self._writers = None
                raise

        await asyncio.get_running_loop().run_in_executor(self._executor, connect)

    def _connect(self) -> sqlite3.Connection:
        # The writers' lock is taken for the set-up too: two workers starting at once on a new
        # file would race to switch it to WAL, and SQLite refuses the loser at once ("database
        # is locked") rather than making it wait; and one of them migrates an old file alone.
        with self._writer_turn():
            db = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout_s,
                isolation_level=None,  # explicit BEGIN/COMMIT below
                check_same_thread=False,
            )
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                sqlite_schema.prepare(db)
            except BaseException:
                db.close()
                raise
        return db

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
                last = db.execute(_HEAD).fetchone()
                last_seq, last_hash = (int(last[0]), str(last[1])) if last else (0, GENESIS)
                stored, chained = chain(last_seq, last_hash, events, alerts)
                db.executemany(
                    _INSERT_EVENT,
                    [(s.seq, *column_values(s.event), s.prev_hash, s.hash) for s in stored],
                )
                db.executemany(
                    _INSERT_ALERT,
                    [(c.seq, *astuple(c.alert), c.prev_hash, c.hash) for c in chained],
                )
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

    async def scan(self, after_seq: int | None, limit: int) -> list[StoredEvent]:
        sql = scan_sql("audit_events", EVENT_COLUMNS, after_seq)
        params = (limit,) if after_seq is None else (after_seq, limit)

        def read(db: sqlite3.Connection) -> list[StoredEvent]:
            return [stored_event(row) for row in db.execute(sql, params)]

        return await self._run(read)

    async def scan_alerts(self, after_seq: int | None, limit: int) -> list[ChainedAlert]:
        sql = scan_sql("privacy_alerts", STORED_ALERT_COLUMNS, after_seq)
        params = (limit,) if after_seq is None else (after_seq, limit)

        def read(db: sqlite3.Connection) -> list[ChainedAlert]:
            return [stored_alert(row).chained for row in db.execute(sql, params)]

        return await self._run(read)

    async def accesses(self, query: LogQuery) -> list[list[StoredEvent]]:
        sql, params = log_query_sql(query)
        events_sql = access_events_sql(query)

        def read(db: sqlite3.Connection) -> list[list[StoredEvent]]:
            groups = db.execute(sql, params).fetchall()
            return [
                [stored_event(row) for row in db.execute(events_sql, (access_id, query.patient))]
                for access_id, _last in groups
            ]

        return await self._run(read)

    async def alerts(self, first: int, before_id: int | None) -> list[StoredAlert]:
        before = before_id if before_id is not None else 2**62

        def read(db: sqlite3.Connection) -> list[StoredAlert]:
            return [stored_alert(row) for row in db.execute(ALERTS_PAGE_SQL, (before, first))]

        return await self._run(read)

    async def ping(self) -> None:
        await self._run(lambda db: db.execute("SELECT 1").fetchone())
