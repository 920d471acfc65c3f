"""Fixtures for the access-log tests: the same log on each real store kind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.audit.store import AuditStore
from tests.audit_support import (
    Backend,
    PostgresBackend,
    SqliteBackend,
    drop_schema,
    new_schema,
    opened,
    require_postgres,
)

KINDS = ["sqlite", "postgres"]


@pytest.fixture(params=KINDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """A fresh, empty log on each store kind (a new SQLite file; a new PostgreSQL schema)."""
    chosen: Backend
    if request.param == "sqlite":
        chosen = SqliteBackend(tmp_path / "audit.sqlite3")
        try:
            yield chosen
        finally:
            await chosen.close()
        return
    dsn = await require_postgres()
    schema = new_schema()
    chosen = PostgresBackend(dsn, schema)
    try:
        yield chosen
    finally:
        await chosen.close()
        await drop_schema(dsn, schema)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[AuditStore]:
    """An open store over the backend's log."""
    async with opened(backend.store()) as opened_store:
        yield opened_store
