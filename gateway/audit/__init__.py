"""The access log: per-field events, hash-chained, durable before any answer leaves.

``events`` (what a record holds, how records chain), ``trail`` (one request's events),
``writer`` (group commit), ``store`` with ``sqlite`` and ``postgres`` (where they live; their
tables and the step from the previous schema in ``sqlite_schema`` and ``postgres_schema``),
``verify`` (the chain check behind ``summary-gateway audit verify``), ``build_store`` (which one).
"""

from __future__ import annotations

from gateway.audit.store import AuditStore
from gateway.settings import Settings


def build_store(settings: Settings) -> AuditStore:
    """PostgreSQL when a DSN is configured, else SQLite in the data directory."""
    audit = settings.audit
    if audit.postgres_dsn is not None:
        from gateway.audit.postgres import PostgresAuditStore

        return PostgresAuditStore(
            audit.postgres_dsn.get_secret_value(), audit.postgres_schema, audit.write_timeout_s
        )
    from gateway.audit.sqlite import SqliteAuditStore

    return SqliteAuditStore(settings.data_dir / audit.sqlite_file, audit.write_timeout_s)
