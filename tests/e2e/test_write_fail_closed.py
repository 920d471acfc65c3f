"""Why a change's intent is logged before the write: when the log fails after the registry was
written, the change is still in the log, the caller is told AUDIT_UNAVAILABLE, and a retry with
the same idempotency key writes nothing twice."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid

from gateway.settings import AuditSettings
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from mocks.sources import Source
from tests.conftest import serve, settings_for

PATIENT = fixture("home-care-elderly")
REGISTER = """
mutation($nin: NationalIdentityNumber!) {
  registerOngoingTreatment(nin: $nin, input: {treatment: DIALYSIS, note: "Dialyse",
    startedOn: "2026-10-01"}, idempotencyKey: "dialysis-after-a-log-failure") {
    replayed entries { id }
  }
}"""


def _attempted(path: str) -> int:
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT count(*) FROM audit_events WHERE outcome = 'ATTEMPTED'").fetchone()
    return int(row[0])


async def test_a_log_failure_after_the_write_leaves_the_intent_logged_and_a_retry_replays(
    registries: MockRegistries,
) -> None:
    audit = AuditSettings(sqlite_file=f"audit-{uuid.uuid4().hex}.sqlite3", write_timeout_s=0.5)
    settings = settings_for(registries, timeout_s=5.0).model_copy(update={"audit": audit})
    path = str(settings.data_dir / audit.sqlite_file)
    async with serve(settings) as server:
        # The core record answers slowly, so the write is still in flight once the intent is
        # logged; then the log is locked, and the outcome cannot be written.
        registries.set_latency(Source.CORE_RECORD, 700)
        first = asyncio.create_task(
            server.graphql(REGISTER, {"nin": PATIENT.nin}, persona="home-care-nurse")
        )
        while _attempted(path) == 0:
            assert not first.done(), await first
            await asyncio.sleep(0.02)
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            body = await first
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        registries.set_latency(Source.CORE_RECORD, 0)
        assert body.get("data") is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["AUDIT_UNAVAILABLE"]
        assert len(registries.population.edits) == 1, "the registry was written"
        assert _attempted(path) == 1, "and the log holds the change"

        retried = await server.graphql(REGISTER, {"nin": PATIENT.nin}, persona="home-care-nurse")
        assert retried["data"]["registerOngoingTreatment"]["replayed"] is True
        assert len(registries.population.edits) == 1, "the retry wrote nothing"
        log = await server.graphql(
            "query($nin: NationalIdentityNumber!) { accessLog(nin: $nin, first: 5) "
            "{ entries { sections changed } } }",
            {"nin": PATIENT.nin},
            persona="patient",
        )
    changes = [
        e["changed"]
        for e in log["data"]["accessLog"]["entries"]
        if e["sections"] == ["change:criticalInformation"]
    ]
    assert changes == [False, True], "the replay changed nothing; the first attempt shows"
