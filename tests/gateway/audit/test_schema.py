"""A log written by the previous schema (version 1: no constraints, alerts outside the chain)
is migrated when a store opens it, on both stores; one holding a forged row is refused."""

from __future__ import annotations

import sqlite3
from dataclasses import astuple

import asyncpg
import pytest

from gateway.audit.events import ALERT_COLUMNS, GENESIS, chain
from gateway.audit.store import AuditUnavailable
from gateway.audit.verify import verify
from tests.audit_support import (
    INSERT_ROW,
    Backend,
    PostgresBackend,
    SqliteBackend,
    make_alert,
    make_batch,
    opened,
    stored_row,
)

_V1_EVENT_COLUMNS = (
    "at TEXT, access_id TEXT, request_id TEXT, actor_kind TEXT, actor_subject TEXT, "
    "actor_hpr TEXT, actor_pid TEXT, actor_name TEXT, actor_authorizations TEXT, "
    "legal_entity TEXT, point_of_care TEXT, organisation_name TEXT, client_name TEXT, "
    "patient TEXT, field TEXT, purpose TEXT, basis TEXT, btg_reason TEXT, outcome TEXT, code TEXT"
)
_V1_ALERT_COLUMNS = (
    "at TEXT, access_id TEXT, actor_name TEXT, actor_hpr TEXT, legal_entity TEXT, "
    "organisation_name TEXT, purpose TEXT, basis TEXT, text TEXT"
)
V1_SQLITE = f"""
CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY, {_V1_EVENT_COLUMNS}, emergency INTEGER, restricted_opened INTEGER,
    from_cache INTEGER, stale_age_ms INTEGER, prev_hash TEXT, hash TEXT
);
CREATE INDEX audit_events_patient ON audit_events (patient, seq);
CREATE TABLE privacy_alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, {_V1_ALERT_COLUMNS});
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TRIGGER privacy_alerts_no_update BEFORE UPDATE ON privacy_alerts
BEGIN SELECT RAISE(ABORT, 'privacy alerts are append-only'); END;
CREATE TRIGGER privacy_alerts_no_delete BEFORE DELETE ON privacy_alerts
BEGIN SELECT RAISE(ABORT, 'privacy alerts are append-only'); END;
"""
V1_POSTGRES = f"""
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY, {_V1_EVENT_COLUMNS}, emergency BOOLEAN NOT NULL,
    restricted_opened BOOLEAN NOT NULL, from_cache BOOLEAN NOT NULL, stale_age_ms BIGINT,
    prev_hash TEXT, hash TEXT
);
CREATE INDEX audit_events_patient ON audit_events (patient, seq);
CREATE TABLE privacy_alerts (id BIGSERIAL PRIMARY KEY, {_V1_ALERT_COLUMNS});
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only (% on %)', TG_OP, TG_TABLE_NAME;
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER privacy_alerts_append_only BEFORE UPDATE OR DELETE ON privacy_alerts
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
"""
_INSERT_V1_ALERT = (
    f"INSERT INTO privacy_alerts ({', '.join(ALERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in ALERT_COLUMNS)})"
)


async def _create_v1(backend: Backend) -> None:
    if isinstance(backend, SqliteBackend):
        db = sqlite3.connect(backend.path, isolation_level=None)
        try:
            db.executescript(V1_SQLITE)
        finally:
            db.close()
        return
    assert isinstance(backend, PostgresBackend)
    raw = await asyncpg.connect(backend.dsn, server_settings={"search_path": backend.schema})
    try:
        await raw.execute(f'CREATE SCHEMA "{backend.schema}"')
        await raw.execute(V1_POSTGRES)
    finally:
        await raw.close()


async def _write_v1_log(backend: Backend) -> int:
    """Eight chained events and two alerts, as version 1 wrote them; the number of records."""
    await _create_v1(backend)
    events = make_batch("a0", 3, emergency=True) + make_batch("a1", 5)
    stored, _ = chain(0, GENESIS, events)
    for record in stored:
        await backend.execute(INSERT_ROW, *stored_row(record))
    for text in ("first", "second"):
        await backend.execute(_INSERT_V1_ALERT, *astuple(make_alert(text, "a0")))
    return len(stored)


async def test_a_version_1_log_is_migrated_and_its_chain_and_alerts_verify(
    backend: Backend,
) -> None:
    events = await _write_v1_log(backend)

    async with opened(backend.store()) as store:
        migrated = await verify(store)
        alerts = await store.alerts(10, None)
        await store.append(make_batch("after", 2, emergency=True), [make_alert("third", "after")])
        after = await verify(store)
        records = await store.scan(0, 100)

    assert migrated.ok, migrated.problem
    assert migrated.checked == events + 2  # the old alerts joined the chain after its head
    assert [(a.id, a.alert.text, a.chained.seq) for a in alerts] == [
        (2, "second", events + 2),
        (1, "first", events + 1),
    ]
    assert after.ok, after.problem
    assert after.checked == events + 2 + 3
    assert [r.seq for r in records] == [*range(1, events + 1), events + 3, events + 4]
    # Opening it again finds version 2 and changes nothing.
    async with opened(backend.store()) as store:
        assert await verify(store) == after


async def test_a_version_1_log_with_a_forged_row_is_refused_and_left_as_it_was(
    backend: Backend,
) -> None:
    events = await _write_v1_log(backend)
    forged = (await _first_row(backend))[:]
    await backend.execute(INSERT_ROW, -1, *forged[1:])

    for _attempt in range(2):
        with pytest.raises(AuditUnavailable, match=r"could not be migrated.*nothing was changed"):
            async with opened(backend.store()):
                pass

    if isinstance(backend, SqliteBackend):
        db = sqlite3.connect(backend.path)
        try:
            count = db.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0]
            assert db.execute("PRAGMA user_version").fetchone()[0] == 0
        finally:
            db.close()
        assert count == events + 1


async def _first_row(backend: Backend) -> tuple[object, ...]:
    stored, _ = chain(0, GENESIS, make_batch("a0", 1, emergency=True))
    return stored_row(stored[0])


DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER audit_events_no_update", "DROP TRIGGER privacy_alerts_no_delete"],
    "postgres": [
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "DROP TRIGGER privacy_alerts_append_only ON privacy_alerts",
    ],
}


async def test_opening_the_log_puts_dropped_guards_back(backend: Backend) -> None:
    async with opened(backend.store()) as store:
        await store.append(make_batch("a", 1), [make_alert("kept")])
    for statement in DROP_TRIGGERS[backend.kind]:
        await backend.execute(statement)

    async with opened(backend.store()):
        with pytest.raises(backend.append_only_errors(), match="append-only"):
            await backend.execute("UPDATE audit_events SET patient = 'someone-else'")
        with pytest.raises(backend.append_only_errors(), match="append-only"):
            await backend.execute("DELETE FROM privacy_alerts")
