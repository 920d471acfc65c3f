"""No access-log record, no data: when the log cannot be written, the answer carries none."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid

import pytest

from gateway.settings import AuditSettings
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from resolvers.examples import summary_query
from tests.audit_support import (
    Backend,
    PostgresBackend,
    SqliteBackend,
    TcpProxy,
    drop_schema,
    new_schema,
    require_postgres,
)
from tests.conftest import GatewayServer, serve, settings_for

PATIENT = fixture("home-care-elderly")


def _assert_failed_closed(body: dict[str, object]) -> None:
    assert body.get("data") is None, "no patient data without a log record"
    errors = body["errors"]
    assert isinstance(errors, list)
    assert [e["extensions"]["code"] for e in errors] == ["AUDIT_UNAVAILABLE"]
    assert PATIENT.name.split()[-1] not in str(body)


async def _summary(server: GatewayServer) -> dict[str, object]:
    return await server.graphql(summary_query(), {"nin": PATIENT.nin})


async def test_a_locked_sqlite_log_fails_the_request_closed_and_the_gateway_recovers(
    registries: MockRegistries,
) -> None:
    audit = AuditSettings(sqlite_file=f"audit-{uuid.uuid4().hex}.sqlite3", write_timeout_s=0.5)
    settings = settings_for(registries).model_copy(update={"audit": audit})
    async with serve(settings) as server:
        assert (await _summary(server)).get("errors") is None
        # Another process holds the database's write lock (a stuck backup, a full disk…).
        blocker = sqlite3.connect(settings.data_dir / audit.sqlite_file, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            _assert_failed_closed(await _summary(server))
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert (await _summary(server)).get("errors") is None, "it serves again once it can log"


async def test_an_unreachable_postgres_log_fails_the_request_closed(
    registries: MockRegistries,
) -> None:
    dsn = await require_postgres()
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    schema = new_schema()
    via_proxy = dsn.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    audit = AuditSettings.model_validate(
        {"postgres_dsn": via_proxy, "postgres_schema": schema, "write_timeout_s": 1.0}
    )
    settings = settings_for(registries).model_copy(update={"audit": audit})
    try:
        async with serve(settings) as server:
            assert (await _summary(server)).get("errors") is None
            await proxy.cut()  # the network to the database is gone
            _assert_failed_closed(await _summary(server))
            _assert_failed_closed(await _summary(server))
    finally:
        await proxy.cut()
        await drop_schema(dsn, schema)


PATIENTS_LOG = """query($nin: NationalIdentityNumber!) {
  accessLog(nin: $nin, first: 50) { entries { sections granted } } }"""


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_answers_refused_while_the_log_was_stuck_are_not_in_the_patients_log(
    registries: MockRegistries, kind: str
) -> None:
    backend: Backend
    if kind == "sqlite":
        audit = AuditSettings(sqlite_file=f"audit-{uuid.uuid4().hex}.sqlite3", write_timeout_s=0.5)
        settings = settings_for(registries).model_copy(update={"audit": audit})
        backend = SqliteBackend(settings.data_dir / audit.sqlite_file)
    else:
        dsn = await require_postgres()
        backend = PostgresBackend(dsn, new_schema())
        audit = AuditSettings.model_validate(
            {"postgres_dsn": dsn, "postgres_schema": backend.schema, "write_timeout_s": 0.5}
        )
        settings = settings_for(registries).model_copy(update={"audit": audit})
    try:
        async with serve(settings) as server:
            assert (await _summary(server)).get("errors") is None
            # Every append waits on the log's lock (a stuck backup) longer than requests wait.
            async with backend.hold_chain_lock():
                # One request's commit goes out and waits on the lock; the next five queue
                # behind it, and their commit is under way when the lock is released.
                first = asyncio.create_task(_summary(server))
                await asyncio.sleep(0.1)
                refused = await asyncio.gather(*(_summary(server) for _ in range(5)))
                refused.append(await first)
                await asyncio.sleep(0.2)
            for body in refused:
                _assert_failed_closed(body)
            assert (await _summary(server)).get("errors") is None
            log = await server.graphql(PATIENTS_LOG, {"nin": PATIENT.nin}, persona="patient")
    finally:
        await backend.close()
        if isinstance(backend, PostgresBackend):
            await drop_schema(backend.dsn, backend.schema)

    entries = log["data"]["accessLog"]["entries"]
    # The two summaries she was shown, and nothing of the six that answered AUDIT_UNAVAILABLE.
    assert [entry["granted"] for entry in entries] == [True, True]
