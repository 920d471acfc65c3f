"""The access log in PostgreSQL, for several gateway instances writing one log.

Each append takes a transaction-scoped advisory lock before it reads the chain head, so writers
in any number of processes append one after another and the chain stays one line. Triggers
refuse UPDATE, DELETE and TRUNCATE for every role, table owner included, and the tables' UPDATE,
DELETE and TRUNCATE privileges are revoked from PUBLIC.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import astuple
from typing import Any

import asyncpg

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

# Any constant shared by every writer of this log; it names the chain head's lock.
_CHAIN_LOCK = 0x5355_4D4D_4152_59  # "SUMMARY"
_TYPES = {
    "seq": "BIGINT PRIMARY KEY",
    "emergency": "BOOLEAN NOT NULL",
    "restricted_opened": "BOOLEAN NOT NULL",
    "from_cache": "BOOLEAN NOT NULL",
    "stale_age_ms": "BIGINT",
}
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS audit_events (
    {", ".join(f"{c} {_TYPES.get(c, 'TEXT')}" for c in EVENT_COLUMNS)}
);
CREATE INDEX IF NOT EXISTS audit_events_patient ON audit_events (patient, seq);
CREATE TABLE IF NOT EXISTS privacy_alerts (
    id BIGSERIAL PRIMARY KEY,
    {", ".join(f"{c} TEXT" for c in ALERT_COLUMNS)}
);
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only (% on %)', TG_OP, TG_TABLE_NAME;
END $$;
CREATE OR REPLACE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE OR REPLACE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE OR REPLACE TRIGGER privacy_alerts_append_only BEFORE UPDATE OR DELETE ON privacy_alerts
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE OR REPLACE TRIGGER privacy_alerts_no_truncate BEFORE TRUNCATE ON privacy_alerts
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, privacy_alerts FROM PUBLIC;
"""


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
_INSERT_ALERT = numbered(
    f"INSERT INTO privacy_alerts ({', '.join(ALERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in ALERT_COLUMNS)})"
)
_SELECT_EVENTS = f"SELECT {', '.join(EVENT_COLUMNS)} FROM audit_events"


def _stored(row: asyncpg.Record) -> StoredEvent:
    values = tuple(row.values())
    return StoredEvent(int(values[0]), _event(values[1:-2]), str(values[-2]), str(values[-1]))


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
                await db.execute("SELECT pg_advisory_xact_lock($1)", _CHAIN_LOCK)
                await db.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
                await db.execute(_SCHEMA)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            await self.close()
            raise AuditUnavailable(f"the access log database is unreachable ({exc})") from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def append(self, events: Sequence[AuditEvent], alerts: Sequence[PrivacyAlert]) -> None:
        try:
            async with self._ready().acquire() as db, db.transaction():
                await db.execute("SELECT pg_advisory_xact_lock($1)", _CHAIN_LOCK)
                head = await db.fetchrow(
                    "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
                )
                last_seq, last_hash = (int(head[0]), str(head[1])) if head else (0, GENESIS)
                stored = chain(last_seq, last_hash, list(events))
                await db.executemany(
                    _INSERT_EVENT,
                    [(s.seq, *column_values(s.event), s.prev_hash, s.hash) for s in stored],
                )
                if alerts:
                    await db.executemany(_INSERT_ALERT, [astuple(alert) for alert in alerts])
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise AuditUnavailable(f"access log write failed ({type(exc).__name__})") from exc

    async def _fetch(self, sql: str, *params: Any) -> list[asyncpg.Record]:
        try:
            async with self._ready().acquire() as db:
                return list(await db.fetch(sql, *params))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise AuditUnavailable(f"access log read failed ({type(exc).__name__})") from exc

    async def scan(self, after_seq: int, limit: int) -> list[StoredEvent]:
        rows = await self._fetch(
            f"{_SELECT_EVENTS} WHERE seq > $1 ORDER BY seq LIMIT $2", after_seq, limit
        )
        return [_stored(row) for row in rows]

    async def accesses(self, query: LogQuery) -> list[list[StoredEvent]]:
        sql, params = log_query_sql(query)
        groups = await self._fetch(numbered(sql), *params)
        result = []
        for group in groups:
            rows = await self._fetch(
                f"{_SELECT_EVENTS} WHERE access_id = $1 AND patient = $2 ORDER BY seq",
                group["access_id"],
                query.patient,
            )
            result.append([_stored(row) for row in rows])
        return result

    async def alerts(self, first: int, before_id: int | None) -> list[StoredAlert]:
        rows = await self._fetch(
            f"SELECT id, {', '.join(ALERT_COLUMNS)} FROM privacy_alerts WHERE id < $1 "
            "ORDER BY id DESC LIMIT $2",
            before_id if before_id is not None else 2**62,
            first,
        )
        return [StoredAlert(int(row[0]), PrivacyAlert(*tuple(row.values())[1:])) for row in rows]

    async def ping(self) -> None:
        await self._fetch("SELECT 1")
