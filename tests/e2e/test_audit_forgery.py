"""A forged access-log row never reaches the patient's log or the privacy officer's alerts:
the schema refuses it from the gateway's own role, and the queries read only the chain."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.audit.events import GENESIS, StoredEvent, alert_hash, event_hash
from gateway.settings import AuditSettings
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from resolvers.examples import summary_query
from tests.audit_support import (
    INSERT_ROW,
    Backend,
    PostgresBackend,
    SqliteBackend,
    drop_schema,
    make_alert,
    make_event,
    new_schema,
    require_postgres,
    stored_row,
)
from tests.conftest import GatewayServer, serve, settings_for

PATIENT = fixture("home-care-elderly")  # the `patient` persona's own record
LOG = """query($nin: NationalIdentityNumber!) {
  accessLog(nin: $nin, first: 50) { entries { actorName emergency } } }"""
ALERTS = "{ privacyAlerts(first: 50) { alerts { text actorName } } }"
INSERT_ALERT = (
    "INSERT INTO privacy_alerts (seq, at, access_id, actor_name, actor_hpr, legal_entity,"
    " organisation_name, purpose, basis, text, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@pytest.fixture(params=["sqlite", "postgres"])
async def gateway_and_log(
    request: pytest.FixtureRequest, registries: MockRegistries
) -> AsyncIterator[tuple[GatewayServer, Backend]]:
    """A gateway with an access log of its own, and raw access to that log."""
    backend: Backend
    if request.param == "sqlite":
        audit = AuditSettings(sqlite_file=f"audit-{new_schema()}.sqlite3")
        settings = settings_for(registries).model_copy(update={"audit": audit})
        backend = SqliteBackend(settings.data_dir / audit.sqlite_file)
    else:
        dsn = await require_postgres()
        backend = PostgresBackend(dsn, new_schema())
        audit = AuditSettings.model_validate(
            {"postgres_dsn": dsn, "postgres_schema": backend.schema}
        )
        settings = settings_for(registries).model_copy(update={"audit": audit})
    try:
        async with serve(settings) as server:
            yield server, backend
    finally:
        await backend.close()
        if isinstance(backend, PostgresBackend):
            await drop_schema(backend.dsn, backend.schema)


def _invented_emergency_access() -> StoredEvent:
    event = dataclasses.replace(
        make_event(PATIENT.nin, access_id="forged", actor_hpr="7777777", emergency=True),
        actor_name="Dr. Invented",
    )
    return StoredEvent(-1, event, GENESIS, event_hash(event, GENESIS))


async def _seen(server: GatewayServer) -> tuple[list[Any], list[Any]]:
    log = await server.graphql(LOG, {"nin": PATIENT.nin}, persona="patient")
    alerts = await server.graphql(ALERTS, {}, persona="privacy-officer")
    return log["data"]["accessLog"]["entries"], alerts["data"]["privacyAlerts"]["alerts"]


async def test_a_row_forged_outside_the_chain_never_reaches_the_log_or_the_alerts(
    gateway_and_log: tuple[GatewayServer, Backend],
) -> None:
    server, backend = gateway_and_log
    assert (await server.graphql(summary_query(), {"nin": PATIENT.nin})).get("errors") is None
    forged = _invented_emergency_access()
    alert = dataclasses.replace(make_alert("Emergency access by Dr. Invented"), at=forged.event.at)

    # With the gateway's own rights (INSERT): refused.
    with pytest.raises(backend.refused_row_errors()):
        await backend.execute(INSERT_ROW, *stored_row(forged))
    # Past the constraints: in the table, but outside the chain the queries read.
    await backend.bypass_checks()
    await backend.execute(INSERT_ROW, *stored_row(forged))
    await backend.execute(
        INSERT_ALERT,
        -1,
        *dataclasses.astuple(alert),
        GENESIS,
        alert_hash(alert, GENESIS),
    )

    entries, alerts = await _seen(server)
    names = [entry["actorName"] for entry in entries]
    assert "Dr. Invented" not in names
    assert len(names) == 1, "the summary read, and nothing else"
    assert alerts == []
