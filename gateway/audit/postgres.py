"""The access log in PostgreSQL, for several gateway instances writing one log.

Each append takes a transaction-scoped advisory lock before it reads the chain head, so writers
in any number of processes append one after another and the chain stays one line. Triggers
refuse UPDATE, DELETE and TRUNCATE for every role, table owner included, and the tables' UPDATE,
DELETE and TRUNCATE privileges are revoked from PUBLIC. The tables and their constraints are in
``postgres_schema``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import astuple
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from gateway.audit import postgres_schema
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
    AuditInDoubt,
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

_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)
_LOST = (OSError, asyncpg.InterfaceError, TimeoutError)
"""The connection failed (rather than the server refusing): the outcome is unknown."""

# Any constant shared by every writer of this log; it names the chain head's lock.
CHAIN_LOCK = 0x5355_4D4D_4152_59  # "SUMMARY"


def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, …``."""
    count = 0

    def number(_match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"\?", number, sql)


_INSERT_EVENT = numbered(
    f"INSERT INTO audit_events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
)
_CHAINED_ALERT_COLUMNS = STORED_ALERT_COLUMNS[1:]  # the id is the table's to give
_INSERT_ALERT = numbered(
    f"INSERT INTO privacy_alerts ({', '.join(_CHAINED_ALERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _CHAINED_ALERT_COLUMNS)})"
)
_HEAD = (
    "(SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1) UNION ALL "
    "(SELECT seq, hash FROM privacy_alerts ORDER BY seq DESC LIMIT 1) ORDER BY seq DESC LIMIT 1"
)


class PostgresAuditStore(AuditStore):
    """The access log in a PostgreSQL schema."""

    def __init__(self, dsn: str, schema: str, timeout_s: float) -> None:
        self._dsn = dsn
        self._schema = schema
        self._timeout_s = timeout_s
        self._pool: asyncpg.Pool | None = None

    def _ready(self) -> asyncpg.Pool:
        if self._pool is None:
            raise AuditUnavailable("the access log is not open")
        return self._pool

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=4,
                timeout=self._timeout_s,
                command_timeout=self._timeout_s,
                server_settings={"search_path": self._schema},
            )
            # Two instances starting at once must not race on CREATE … IF NOT EXISTS (the schema
            # included: concurrent CREATE SCHEMA IF NOT EXISTS fails on a unique violation).
            async with self._pool.acquire() as db, db.transaction():
                await db.execute("SELECT pg_advisory_xact_lock($1)", CHAIN_LOCK)
                await db.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
                await postgres_schema.prepare(db)
        except AuditUnavailable:
            await self.close()
            raise
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            await self.close()
            raise AuditUnavailable(f"the access log database is unreachable ({exc})") from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def append(self, events: Sequence[AuditEvent], alerts: Sequence[PrivacyAlert]) -> None:
        try:
            async with self._ready().acquire() as db:
                transaction = db.transaction()
                await transaction.start()
                try:
                    await self._insert(db, events, alerts)
                except BaseException:
                    with contextlib.suppress(*_ERRORS):
                        await transaction.rollback()
                    raise
                try:
                    await transaction.commit()
                except _LOST as exc:
                    # The COMMIT was sent and no answer came: it may have been applied.
                    raise AuditInDoubt(
                        f"access log commit unconfirmed ({type(exc).__name__})"
                    ) from exc
        except _ERRORS as exc:
            raise AuditUnavailable(f"access log write failed ({type(exc).__name__})") from exc

    @staticmethod
    async def _insert(
        db: PoolConnectionProxy[asyncpg.Record],
        events: Sequence[AuditEvent],
        alerts: Sequence[PrivacyAlert],
    ) -> None:
        await db.execute("SELECT pg_advisory_xact_lock($1)", CHAIN_LOCK)
        head = await db.fetchrow(_HEAD)
        last_seq, last_hash = (int(head[0]), str(head[1])) if head else (0, GENESIS)
        stored, chained = chain(last_seq, last_hash, events, alerts)
        await db.executemany(
            _INSERT_EVENT,
            [(s.seq, *column_values(s.event), s.prev_hash, s.hash) for s in stored],
        )
        if chained:
            await db.executemany(
                _INSERT_ALERT,
                [(c.seq, *astuple(c.alert), c.prev_hash, c.hash) for c in chained],
            )

    async def _fetch(self, sql: str, *params: Any) -> list[asyncpg.Record]:
        try:
            async with self._ready().acquire() as db:
                return list(await db.fetch(sql, *params))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise AuditUnavailable(f"access log read failed ({type(exc).__name__})") from exc

    async def scan(self, after_seq: int | None, limit: int) -> list[StoredEvent]:
        sql = numbered(scan_sql("audit_events", EVENT_COLUMNS, after_seq))
        params = (limit,) if after_seq is None else (after_seq, limit)
        return [stored_event(tuple(row.values())) for row in await self._fetch(sql, *params)]

    async def scan_alerts(self, after_seq: int | None, limit: int) -> list[ChainedAlert]:
        sql = numbered(scan_sql("privacy_alerts", STORED_ALERT_COLUMNS, after_seq))
        params = (limit,) if after_seq is None else (after_seq, limit)
        rows = await self._fetch(sql, *params)
        return [stored_alert(tuple(row.values())).chained for row in rows]

    async def accesses(self, query: LogQuery) -> list[list[StoredEvent]]:
        sql, params = log_query_sql(query)
        events_sql = numbered(access_events_sql(query))
        groups = await self._fetch(numbered(sql), *params)
        result = []
        for group in groups:
            rows = await self._fetch(events_sql, group["access_id"], query.patient)
            result.append([stored_event(tuple(row.values())) for row in rows])
        return result

    async def alerts(self, first: int, before_id: int | None) -> list[StoredAlert]:
        before = before_id if before_id is not None else 2**62
        rows = await self._fetch(numbered(ALERTS_PAGE_SQL), before, first)
        return [stored_alert(tuple(row.values())) for row in rows]

    async def ping(self) -> None:
        await self._fetch("SELECT 1")
