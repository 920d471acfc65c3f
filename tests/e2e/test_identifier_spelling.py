"""An identifier has one spelling: a trailing newline is refused, a leading zero dropped.

The reproductions of issue 13, item 3, over HTTP against the real core-record mock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.audit.store import LogQuery
from mocks.fixtures import fixture
from mocks.personas import PID
from mocks.runner import MockRegistries
from tests.conftest import GatewayServer, SchemaRunner, bearer
from tests.e2e.documents import BLOCK

OWN = fixture("home-care-elderly").nin  # the patient persona's own record
CRITICAL = fixture("critical-allergies").nin
EMERGENCY_DOCTOR_HPR = "9144901"

STATUS = """
query($nin: NationalIdentityNumber!) { patientStatus(nin: $nin) { blockedForMe } }"""
ALLERGY = """
mutation($nin: NationalIdentityNumber!, $key: String!) {
  registerAllergy(nin: $nin, idempotencyKey: $key, input: {agent: "Sulfa", category: MEDICATION,
    reaction: "Utslett", criticality: LOW, verification: CONFIRMED}) { replayed }
}"""
UPDATE = """
mutation($nin: NationalIdentityNumber!, $version: String!) {
  updateCriticalInformation(nin: $nin,
    entry: {kind: ALLERGY, id: "fx-critical-allergies-alg1", baseVersion: $version},
    change: {note: "Bekreftet"}) { replayed }
}"""


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def _block(gateway: GatewayServer, hpr: str) -> dict[str, Any]:
    return await gateway.graphql(
        BLOCK, {"nin": OWN, "hpr": hpr}, headers=bearer("patient", **{PID: OWN}), persona=None
    )


async def test_a_block_with_a_trailing_newline_is_refused_and_nothing_is_written(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    body = await _block(gateway, f"{EMERGENCY_DOCTOR_HPR}\n")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "hprNumber"}
    assert len(registries.population.edits) == 0


async def test_a_block_typed_with_a_leading_zero_blocks_the_person_it_names(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    body = await _block(gateway, f"0{EMERGENCY_DOCTOR_HPR}")
    assert body.get("errors") is None, body
    status = await gateway.graphql(STATUS, {"nin": OWN}, persona="emergency-doctor")
    assert status["data"]["patientStatus"]["blockedForMe"] is True


async def test_an_idempotency_key_with_a_trailing_newline_is_not_a_new_key(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    first = await gateway.graphql(ALLERGY, {"nin": CRITICAL, "key": "sulfa-2026-12-05"})
    assert first.get("errors") is None, first
    again = await gateway.graphql(ALLERGY, {"nin": CRITICAL, "key": "sulfa-2026-12-05\n"})
    assert _codes(again) == ["BAD_USER_INPUT"]
    assert len(registries.population.edits) == 1, "one allergy, not two"


async def test_a_base_version_with_a_newline_is_refused_before_anything_is_logged(
    gateway: GatewayServer, registries: MockRegistries, runner: SchemaRunner
) -> None:
    # It used to reach the If-Match header: INTERNAL_SERVER_ERROR, and an ATTEMPTED record
    # with no outcome after it.
    since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = await gateway.graphql(UPDATE, {"nin": CRITICAL, "version": "1\n"})
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT", "field": "entry.baseVersion",
    }  # fmt: skip
    logged = await runner.audit_writer.store.accesses(
        LogQuery(patient=CRITICAL, first=10, since=since)
    )
    assert [s.event.field for group in logged for s in group] == []
    assert len(registries.population.edits) == 0
