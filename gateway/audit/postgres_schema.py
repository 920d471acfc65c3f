"""The PostgreSQL access log's tables, and the step from the version 1 tables to these.

Version 2 adds ``CHECK (seq >= 1)`` to both tables, ``NOT NULL`` where an event or alert always
has a value, and privacy alerts' place in the chain. PostgreSQL's column types already refuse a
value of another type. The version is the comment on ``audit_events``.

A version 1 schema (tables present, no comment) is migrated in one transaction: the constraints
are added (PostgreSQL checks every existing row), and the existing alerts join the chain after
its head (the chain vouches for them from then on). A row the new constraints refuse aborts the
migration, and the store refuses to open, saying so.
"""

from __future__ import annotations

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from gateway.audit.events import (
    ALERT_COLUMNS,
    ALERT_TYPES,
    EVENT_TYPES,
    GENESIS,
    PrivacyAlert,
    chain,
)
from gateway.audit.store import SCHEMA_VERSION, AuditUnavailable

_VERSION_NOTE = f"summary-gateway access log, schema {SCHEMA_VERSION}"
_SQL_TYPES = {str: "TEXT", bool: "BOOLEAN", int: "BIGINT"}


def _column(name: str, allowed: tuple[type, ...]) -> str:
    (kind,) = [t for t in allowed if t is not type(None)]
    return f"{name} {_SQL_TYPES[kind]}{'' if type(None) in allowed else ' NOT NULL'}"


def _required(types: dict[str, tuple[type, ...]]) -> list[str]:
    return [name for name, allowed in types.items() if type(None) not in allowed]


SCHEMA = f"""
CREATE TABLE IF NOT EXISTS audit_events (
    seq BIGINT PRIMARY KEY CONSTRAINT audit_events_seq_in_chain CHECK (seq >= 1),
    {", ".join(_column(name, allowed) for name, allowed in EVENT_TYPES.items())},
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_patient ON audit_events (patient, seq);
CREATE INDEX IF NOT EXISTS audit_events_not_delivered ON audit_events (access_id, patient)
    WHERE outcome = 'NOT_DELIVERED';
CREATE TABLE IF NOT EXISTS privacy_alerts (
    id BIGSERIAL PRIMARY KEY,
    seq BIGINT NOT NULL CONSTRAINT privacy_alerts_seq_unique UNIQUE
        CONSTRAINT privacy_alerts_seq_in_chain CHECK (seq >= 1),
    {", ".join(_column(name, allowed) for name, allowed in ALERT_TYPES.items())},
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
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
COMMENT ON TABLE audit_events IS '{_VERSION_NOTE}';
"""

_EVENTS_V2 = ", ".join(
    [
        "ADD CONSTRAINT audit_events_seq_in_chain CHECK (seq >= 1)",
        *(f"ALTER COLUMN {name} SET NOT NULL" for name in _required(EVENT_TYPES)),
        "ALTER COLUMN prev_hash SET NOT NULL",
        "ALTER COLUMN hash SET NOT NULL",
    ]
)
_ALERTS_V2 = ", ".join(
    [
        "ADD CONSTRAINT privacy_alerts_seq_unique UNIQUE (seq)",
        "ADD CONSTRAINT privacy_alerts_seq_in_chain CHECK (seq >= 1)",
        *(
            f"ALTER COLUMN {name} SET NOT NULL"
            for name in ["seq", *_required(ALERT_TYPES), "prev_hash", "hash"]
        ),
    ]
)


async def prepare(db: PoolConnectionProxy[asyncpg.Record]) -> None:
    """Create the tables in a new schema, migrate a version 1 one, or refuse an unknown one.
    The caller holds the chain lock, in a transaction."""
    found = await db.fetchrow(
        "SELECT to_regclass('audit_events') IS NOT NULL AS present,"
        " obj_description(to_regclass('audit_events'), 'pg_class') AS note"
    )
    assert found is not None
    if found["present"] and found["note"] is None:
        try:
            async with db.transaction():  # a savepoint: a refused row undoes the migration
                await _migrate_from_v1(db)
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
            raise AuditUnavailable(
                "the access log (schema version 1) could not be migrated to version "
                f"{SCHEMA_VERSION}: it holds a row the new schema refuses "
                f"({type(exc).__name__}: {exc}); nothing was changed. Check it with "
                "`summary-gateway audit verify` run by the previous version"
            ) from exc
    elif found["present"] and found["note"] != _VERSION_NOTE:
        raise AuditUnavailable(
            f"the access log's schema is '{found['note']}'; this gateway knows {_VERSION_NOTE}"
        )
    await db.execute(SCHEMA)


async def _migrate_from_v1(db: PoolConnectionProxy[asyncpg.Record]) -> None:
    await db.execute(f"ALTER TABLE audit_events {_EVENTS_V2}")
    await db.execute(
        "ALTER TABLE privacy_alerts ADD COLUMN seq BIGINT, ADD COLUMN prev_hash TEXT,"
        " ADD COLUMN hash TEXT"
    )
    head = await db.fetchrow("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
    last_seq, last_hash = (int(head[0]), str(head[1])) if head else (0, GENESIS)
    rows = await db.fetch(f"SELECT id, {', '.join(ALERT_COLUMNS)} FROM privacy_alerts ORDER BY id")
    alerts = [PrivacyAlert(*tuple(row.values())[1:]) for row in rows]
    _, chained = chain(last_seq, last_hash, [], alerts)
    # The append-only trigger is the migration's to lift, for this one update, in this
    # transaction: nobody else sees the table without it.
    await db.execute("ALTER TABLE privacy_alerts DISABLE TRIGGER privacy_alerts_append_only")
    await db.executemany(
        "UPDATE privacy_alerts SET seq = $1, prev_hash = $2, hash = $3 WHERE id = $4",
        [(c.seq, c.prev_hash, c.hash, row["id"]) for row, c in zip(rows, chained, strict=True)],
    )
    await db.execute("ALTER TABLE privacy_alerts ENABLE TRIGGER privacy_alerts_append_only")
    await db.execute(f"ALTER TABLE privacy_alerts {_ALERTS_V2}")
