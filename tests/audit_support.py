"""Helpers for the access-log tests: events, the two real stores, raw access for an attacker,
a TCP proxy to cut PostgreSQL off, and (run as ``python -m tests.audit_support``) a writer
process for the several-processes test.

PostgreSQL is the one at ``TEST_POSTGRES_DSN`` (default: the local server). When it cannot be
reached the tests that need it skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import os
import sqlite3
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from gateway.audit.events import AuditEvent, PrivacyAlert, StoredEvent
from gateway.audit.postgres import CHAIN_LOCK, PostgresAuditStore, numbered
from gateway.audit.sqlite import SqliteAuditStore
from gateway.audit.store import EVENT_COLUMNS, AuditStore

POSTGRES_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REPO_ROOT = Path(__file__).resolve().parents[1]


def make_event(
    patient: str = "01010112345",
    *,
    actor_hpr: str | None = "9144900",
    access_id: str = "access-1",
    emergency: bool = False,
    at: str = "2026-01-01T10:00:00.000000Z",
    field_name: str = "medications",
    stale_age_ms: int | None = None,
) -> AuditEvent:
    """One access event; what the tests vary is a keyword."""
    return AuditEvent(
        at=at,
        access_id=access_id,
        request_id=f"req-{access_id}",
        actor_kind="person",
        actor_subject="sub-1",
        actor_hpr=actor_hpr,
        actor_pid=None,
        actor_name="Dr. Test",
        actor_authorizations="LE,SP",
        legal_entity="974589095",
        point_of_care=None,
        organisation_name="Test Hospital",
        client_name="test-client",
        patient=patient,
        field=field_name,
        purpose="TREAT",
        basis="EMERGENCY" if emergency else None,
        btg_reason="unconscious" if emergency else None,
        outcome="GRANTED",
        code=None,
        emergency=emergency,
        restricted_opened=False,
        from_cache=stale_age_ms is not None,
        stale_age_ms=stale_age_ms,
    )


def make_batch(access_id: str, size: int, **overrides: Any) -> list[AuditEvent]:
    """``size`` events of one request, one per field."""
    return [
        make_event(access_id=access_id, field_name=f"field{i}", **overrides) for i in range(size)
    ]


def make_alert(text: str, access_id: str = "access-1") -> PrivacyAlert:
    """A privacy alert whose text tells it apart."""
    return PrivacyAlert(
        at="2026-01-01T10:00:00.000000Z",
        access_id=access_id,
        actor_name="Dr. Test",
        actor_hpr="9144900",
        legal_entity="974589095",
        organisation_name="Test Hospital",
        purpose="TREAT",
        basis="EMERGENCY",
        text=text,
    )


def stored_row(record: StoredEvent) -> tuple[object, ...]:
    """A stored event's column values, in ``EVENT_COLUMNS`` order (for a forged INSERT)."""
    return (record.seq, *astuple(record.event), record.prev_hash, record.hash)


INSERT_ROW = (
    f"INSERT INTO audit_events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
)


async def require_postgres() -> str:
    """The test PostgreSQL's DSN; skip (fail under ``CI=true``) when it does not answer."""
    try:
        db = await asyncpg.connect(POSTGRES_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"PostgreSQL at {POSTGRES_DSN} is unreachable ({type(exc).__name__}: {exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    await db.close()
    return POSTGRES_DSN


def new_schema() -> str:
    """A schema name no other test uses."""
    return f"audit_test_{uuid.uuid4().hex[:12]}"


async def drop_schema(dsn: str, schema: str) -> None:
    """Remove a test's schema and its tables (row triggers do not block DROP)."""
    db = await asyncpg.connect(dsn, timeout=5)
    try:
        await db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await db.close()


class Backend(abc.ABC):
    """One store kind: fresh stores over the same log, and raw SQL on it as its owner."""

    kind: str

    @abc.abstractmethod
    def store(self, timeout_s: float = 5.0) -> AuditStore:
        """A new (unopened) store over this log."""

    @abc.abstractmethod
    async def execute(self, sql: str, *params: object) -> None:
        """Run one statement (``?`` placeholders) outside the store, committed at once."""

    @abc.abstractmethod
    async def drop_guards(self) -> None:
        """What an attacker with DBA rights does first: disable the append-only triggers (of
        the events and of the privacy alerts)."""

    @abc.abstractmethod
    async def bypass_checks(self) -> None:
        """What such an attacker does next: make the schema's CHECK constraints stop refusing
        rows (SQLite: ``PRAGMA ignore_check_constraints`` on this connection; PostgreSQL: drop
        them). Column types still hold on PostgreSQL."""

    @abc.abstractmethod
    def hold_chain_lock(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold the lock every append waits for (a stuck backup, a slow disk) for the block."""

    @abc.abstractmethod
    def append_only_errors(self) -> tuple[type[BaseException], ...]:
        """The exception a guard raises on this backend."""

    @abc.abstractmethod
    def refused_row_errors(self) -> tuple[type[BaseException], ...]:
        """The exceptions the schema raises for a row it refuses (a constraint, a type)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the raw connection."""


@dataclass
class SqliteBackend(Backend):
    """A SQLite file, and a plain second connection to it."""

    path: Path
    kind: str = "sqlite"
    _raw: sqlite3.Connection | None = None

    def store(self, timeout_s: float = 5.0) -> AuditStore:
        return SqliteAuditStore(self.path, timeout_s)

    def _db(self) -> sqlite3.Connection:
        if self._raw is None:
            self._raw = sqlite3.connect(self.path, isolation_level=None, timeout=5)
        return self._raw

    async def execute(self, sql: str, *params: object) -> None:
        self._db().execute(sql, params)

    async def drop_guards(self) -> None:
        for trigger in ("audit_events", "privacy_alerts"):
            self._db().execute(f"DROP TRIGGER {trigger}_no_update")
            self._db().execute(f"DROP TRIGGER {trigger}_no_delete")

    async def bypass_checks(self) -> None:
        self._db().execute("PRAGMA ignore_check_constraints = ON")

    @contextlib.asynccontextmanager
    async def hold_chain_lock(self) -> AsyncIterator[None]:
        locker = sqlite3.connect(self.path, isolation_level=None)
        try:
            locker.execute("BEGIN EXCLUSIVE")
            yield
        finally:
            locker.rollback()
            locker.close()

    def append_only_errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.IntegrityError,)

    def refused_row_errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.IntegrityError,)

    async def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None


@dataclass
class PostgresBackend(Backend):
    """A schema of the test PostgreSQL, and a plain connection to it as the same role."""

    dsn: str
    schema: str
    kind: str = "postgres"
    _raw: asyncpg.Connection | None = None

    def store(self, timeout_s: float = 5.0) -> AuditStore:
        return PostgresAuditStore(self.dsn, self.schema, timeout_s)

    async def _db(self) -> asyncpg.Connection:
        if self._raw is None:
            self._raw = await asyncpg.connect(
                self.dsn, timeout=5, server_settings={"search_path": self.schema}
            )
        return self._raw

    async def execute(self, sql: str, *params: object) -> None:
        await (await self._db()).execute(numbered(sql), *params)

    async def drop_guards(self) -> None:
        await self.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
        await self.execute("ALTER TABLE privacy_alerts DISABLE TRIGGER USER")

    async def bypass_checks(self) -> None:
        await self.execute(_DROP_CHECKS)

    @contextlib.asynccontextmanager
    async def hold_chain_lock(self) -> AsyncIterator[None]:
        locker = await asyncpg.connect(
            self.dsn, timeout=5, server_settings={"search_path": self.schema}
        )
        try:
            async with locker.transaction():
                await locker.execute("SELECT pg_advisory_xact_lock($1)", CHAIN_LOCK)
                yield
        finally:
            await locker.close()

    def append_only_errors(self) -> tuple[type[BaseException], ...]:
        return (asyncpg.RaiseError,)

    def refused_row_errors(self) -> tuple[type[BaseException], ...]:
        return (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError)

    async def close(self) -> None:
        if self._raw is not None:
            await self._raw.close()
            self._raw = None


_DROP_CHECKS = """
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conrelid::regclass AS tab, conname FROM pg_constraint
             WHERE contype = 'c' AND connamespace = current_schema()::regnamespace LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tab, c.conname);
    END LOOP;
END $$
"""


@dataclass
class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target until ``cut`` drops every connection at once.

    ``hold`` makes it a server that accepts and never answers (as a hung Redis or database
    does): what clients send is kept back, and counted in ``held_requests``, until ``release``.
    """

    target_host: str
    target_port: int
    port: int = 0
    held_requests: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _pumps: set[asyncio.Task[None]] = field(default_factory=set)
    _flowing: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def hold(self) -> None:
        """From now on, accept and read but forward nothing, either way."""
        self._flowing.clear()

    def release(self) -> None:
        """Forward again (what was held goes first)."""
        self._flowing.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        self._writers += [writer, up_writer]
        for source, sink, asks in ((reader, up_writer, True), (up_reader, writer, False)):
            task = asyncio.create_task(self._pump(source, sink, asks))
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, asks: bool
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                if not self._flowing.is_set():
                    self.held_requests += asks
                    await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        sink.close()

    async def cut(self) -> None:
        """Stop listening and reset every forwarded connection, as a dead network would."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        for task in list(self._pumps):
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)


@contextlib.asynccontextmanager
async def opened(store: AuditStore) -> AsyncIterator[AuditStore]:
    """``store``, open for the block."""
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def _append_process(args: argparse.Namespace) -> None:
    """One writer process: open, say ready, wait for the start time, append, exit."""
    store: AuditStore
    if args.kind == "sqlite":
        store = SqliteAuditStore(Path(args.target), 10.0)
    else:
        store = PostgresAuditStore(args.target, args.schema, 10.0)
    async with opened(store):
        print("ready", flush=True)
        # The parent names a start time a little ahead, so every writer starts at one instant.
        start = float(await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline))
        await asyncio.sleep(max(0.0, start - time.time()))
        began = time.time()
        for batch in range(args.batches):
            await store.append(make_batch(f"{args.tag}-{batch}", args.size), [])
        ended = time.time()
    print(f"done {began} {ended}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["sqlite", "postgres"])
    parser.add_argument("target", help="the SQLite file, or the PostgreSQL DSN")
    parser.add_argument("--schema", default="public")
    parser.add_argument("--tag", required=True)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--size", type=int, default=3)
    asyncio.run(_append_process(parser.parse_args()))
