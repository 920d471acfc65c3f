"""The SQLite access log's tables, and the step from the version 1 tables to these.

Version 2 refuses what SQLite's loose typing would otherwise take: every column has a
``CHECK (typeof(…))`` (a boolean is the integer 0 or 1), ``seq`` starts at 1 in both tables, and
privacy alerts carry their place in the chain. The version is ``PRAGMA user_version``.

A version 1 file (``user_version`` 0, tables present) is migrated in one transaction: the rows
are copied into the new tables, whose constraints check each of them, and the existing alerts
join the chain after its head (the chain vouches for them from then on). A row the new
constraints refuse (a forged ``seq``, a value of the wrong type) aborts the migration, and the
store refuses to open, saying so.
"""

from __future__ import annotations

import sqlite3

from gateway.audit.events import (
    ALERT_COLUMNS,
    ALERT_TYPES,
    EVENT_TYPES,
    GENESIS,
    PrivacyAlert,
    chain,
)
from gateway.audit.store import (
    EVENT_COLUMNS,
    SCHEMA_VERSION,
    STORED_ALERT_COLUMNS,
    AuditUnavailable,
)


def _column(name: str, allowed: tuple[type, ...]) -> str:
    nullable = type(None) in allowed
    (kind,) = [t for t in allowed if t is not type(None)]
    stored = "text" if kind is str else "integer"
    check = f"typeof({name}) = '{stored}'"
    if kind is bool:
        check += f" AND {name} IN (0, 1)"
    if nullable:
        check = f"{name} IS NULL OR ({check})"
    return f"{name} {stored.upper()}{'' if nullable else ' NOT NULL'} CHECK ({check})"


_HASHES = (
    "prev_hash TEXT NOT NULL CHECK (typeof(prev_hash) = 'text' AND length(prev_hash) = 64),\n"
    "    hash TEXT NOT NULL CHECK (typeof(hash) = 'text' AND length(hash) = 64)"
)
_EVENT_DEFS = ",\n    ".join(_column(name, allowed) for name, allowed in EVENT_TYPES.items())
_ALERT_DEFS = ",\n    ".join(_column(name, allowed) for name, allowed in ALERT_TYPES.items())

TABLES = [
    f"""CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY CHECK (seq >= 1),
    {_EVENT_DEFS},
    {_HASHES}
)""",
    "CREATE INDEX audit_events_patient ON audit_events (patient, seq)",
    # Marks of undelivered events are rare: a partial index finds them for the patient's view.
    "CREATE INDEX audit_events_not_delivered ON audit_events (access_id, patient)"
    " WHERE outcome = 'NOT_DELIVERED'",
    f"""CREATE TABLE privacy_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT CHECK (id >= 1),
    seq INTEGER NOT NULL UNIQUE CHECK (typeof(seq) = 'integer' AND seq >= 1),
    {_ALERT_DEFS},
    {_HASHES}
)""",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
]

GUARDS = [
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op} BEFORE {op.upper()} ON {table}"
    f" BEGIN SELECT RAISE(ABORT, '{what} append-only'); END"
    for table, what in (
        ("audit_events", "the access log is"),
        ("privacy_alerts", "privacy alerts are"),
    )
    for op in ("update", "delete")
]
"""The append-only triggers, put back on every open if someone dropped them."""

_SET_V1_ASIDE = [
    "DROP TRIGGER IF EXISTS audit_events_no_update",
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
    "DROP TRIGGER IF EXISTS privacy_alerts_no_update",
    "DROP TRIGGER IF EXISTS privacy_alerts_no_delete",
    "DROP INDEX IF EXISTS audit_events_patient",
    "ALTER TABLE audit_events RENAME TO audit_events_v1",
    "ALTER TABLE privacy_alerts RENAME TO privacy_alerts_v1",
]


def prepare(db: sqlite3.Connection) -> None:
    """Create the tables in a new file, migrate a version 1 file, or refuse an unknown one.
    The caller holds the writers' lock."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version == SCHEMA_VERSION:
        for statement in GUARDS:
            db.execute(statement)
        return
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'"
    ).fetchone()
    if version != 0:
        raise AuditUnavailable(
            f"the access log has schema version {version}; this gateway knows {SCHEMA_VERSION}"
        )
    db.execute("BEGIN IMMEDIATE")
    try:
        if exists:
            _migrate_from_v1(db)
        else:
            for statement in [*TABLES, *GUARDS]:
                db.execute(statement)
        db.execute("COMMIT")
    except (sqlite3.Error, TypeError, ValueError) as exc:
        db.rollback()
        raise AuditUnavailable(
            "the access log (schema version 1) could not be migrated to version "
            f"{SCHEMA_VERSION}: it holds a row the new schema refuses ({type(exc).__name__}: "
            f"{exc}); nothing was changed. Check it with `summary-gateway audit verify` run by "
            "the previous version"
        ) from exc


def _migrate_from_v1(db: sqlite3.Connection) -> None:
    for statement in [*_SET_V1_ASIDE, *TABLES, *GUARDS]:
        db.execute(statement)
    columns = ", ".join(EVENT_COLUMNS)
    db.execute(
        f"INSERT INTO audit_events ({columns}) SELECT {columns} FROM audit_events_v1 ORDER BY seq"
    )
    head = db.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    last_seq, last_hash = (int(head[0]), str(head[1])) if head else (0, GENESIS)
    rows = db.execute(
        f"SELECT id, {', '.join(ALERT_COLUMNS)} FROM privacy_alerts_v1 ORDER BY id"
    ).fetchall()
    _, chained = chain(last_seq, last_hash, [], [PrivacyAlert(*row[1:]) for row in rows])
    db.executemany(
        f"INSERT INTO privacy_alerts ({', '.join(STORED_ALERT_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in STORED_ALERT_COLUMNS)})",
        [
            (row[0], c.seq, *row[1:], c.prev_hash, c.hash)
            for row, c in zip(rows, chained, strict=True)
        ],
    )
    db.execute("DROP TABLE audit_events_v1")
    db.execute("DROP TABLE privacy_alerts_v1")
