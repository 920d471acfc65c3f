"""An idempotency key names one change: its retry is a replay, any other change is refused.

Over HTTP against the real core-record mock; the access log is read from the gateway's store.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.audit.store import LogQuery
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from tests.conftest import GatewayServer, SchemaRunner
from tests.e2e.documents import UPDATE

CRITICAL = fixture("critical-allergies")

REGISTER_ALLERGY = """
mutation($nin: NationalIdentityNumber!, $input: AllergyInput!, $key: String) {
  registerAllergy(nin: $nin, input: $input, idempotencyKey: $key) { replayed entries { id } }
}"""
ALLERGIES = """
query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) { criticalInformation { allergies { id version agent { display } reaction } } }
}"""


def _allergy(agent: str) -> dict[str, Any]:
    return {
        "agent": agent,
        "category": "MEDICATION",
        "reaction": "Utslett",
        "criticality": "LOW",
        "verification": "CONFIRMED",
    }


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _outcomes(runner: SchemaRunner, since: str) -> list[tuple[str, str | None]]:
    """The change records logged for the patient since ``since``, oldest first."""
    groups = await runner.audit_writer.store.accesses(
        LogQuery(patient=CRITICAL.nin, first=50, since=since)
    )
    events = [s.event for group in reversed(groups) for s in group]
    return [(e.outcome, e.code) for e in events if e.field == "change:criticalInformation"]


async def test_a_key_reused_for_another_allergy_is_refused_and_writes_nothing(
    gateway: GatewayServer, registries: MockRegistries, runner: SchemaRunner
) -> None:
    key = "allergy-key-reused-1"
    sulfa = await gateway.graphql(
        REGISTER_ALLERGY, {"nin": CRITICAL.nin, "input": _allergy("Sulfa"), "key": key}
    )
    assert sulfa["data"]["registerAllergy"]["replayed"] is False
    since = _now()
    kodein = await gateway.graphql(
        REGISTER_ALLERGY, {"nin": CRITICAL.nin, "input": _allergy("Kodein"), "key": key}
    )
    # It used to answer {"replayed": true} with the Sulfa entry: the Kodein allergy was lost.
    assert kodein["data"] is None
    assert _codes(kodein) == ["IDEMPOTENCY_KEY_REUSED"]
    assert len(registries.population.edits) == 1
    body = await gateway.graphql(ALLERGIES, {"nin": CRITICAL.nin})
    agents = [
        a["agent"]["display"] for a in body["data"]["patient"]["criticalInformation"]["allergies"]
    ]
    assert "Sulfa" in agents and "Kodein" not in agents
    assert await _outcomes(runner, since) == [
        ("ATTEMPTED", None), ("DENIED", "IDEMPOTENCY_KEY_REUSED"),
    ]  # fmt: skip
    # The change the key was made for is still a replay, even typed with a stray newline.
    retry = await gateway.graphql(
        REGISTER_ALLERGY, {"nin": CRITICAL.nin, "input": _allergy("Sulfa\n"), "key": key}
    )
    assert retry["data"]["registerAllergy"] == sulfa["data"]["registerAllergy"] | {"replayed": True}
    assert len(registries.population.edits) == 1


async def test_a_key_reused_for_another_update_of_the_entry_is_refused(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    before = await gateway.graphql(ALLERGIES, {"nin": CRITICAL.nin})
    allergy = before["data"]["patient"]["criticalInformation"]["allergies"][0]
    entry = {"kind": "ALLERGY", "id": allergy["id"], "baseVersion": allergy["version"]}
    variables: dict[str, Any] = {
        "nin": CRITICAL.nin, "entry": entry, "change": {"reaction": "Anafylaksi"},
        "key": "update-key-reused-1",
    }  # fmt: skip
    first = await gateway.graphql(UPDATE, variables)
    assert first["data"]["updateCriticalInformation"]["replayed"] is False
    # The same key and base version, another change: it used to come back as a replay.
    other = await gateway.graphql(UPDATE, {**variables, "change": {"reaction": "Kløe"}})
    assert _codes(other) == ["IDEMPOTENCY_KEY_REUSED"]
    # The same key on the version it made, another change: it used to be written.
    on_top = {
        **entry,
        "baseVersion": first["data"]["updateCriticalInformation"]["entries"][0]["version"],
    }
    again = await gateway.graphql(
        UPDATE, {**variables, "entry": on_top, "change": {"reaction": "Kløe"}}
    )
    assert _codes(again) == ["IDEMPOTENCY_KEY_REUSED"]
    after = await gateway.graphql(ALLERGIES, {"nin": CRITICAL.nin})
    [now] = [
        a for a in after["data"]["patient"]["criticalInformation"]["allergies"]
        if a["id"] == allergy["id"]
    ]  # fmt: skip
    assert (now["version"], now["reaction"]) == ("2", "Anafylaksi")
    # The change itself, retried, is still a replay.
    retry = await gateway.graphql(UPDATE, variables)
    assert retry["data"]["updateCriticalInformation"]["replayed"] is True
