"""Forgeries ``audit verify`` must name, on both stores: rows outside the chain, values of the
wrong type, and privacy alerts edited or deleted. Each attacker does the least they need:
INSERT rights alone (the gateway's own role has them), then dropped guards, then bypassed
CHECK constraints."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gateway.audit.events import GENESIS, StoredEvent, event_hash
from gateway.audit.store import AuditStore, LogQuery
from gateway.audit.verify import Tampering, verify
from tests.audit_support import (
    INSERT_ROW,
    Backend,
    SqliteBackend,
    make_alert,
    make_batch,
    make_event,
    stored_row,
)

P = "01010112345"


def _invented_emergency_access(seq: int) -> StoredEvent:
    """An emergency read by a doctor who never existed, hashed from the genesis value as if it
    were the first record."""
    event = dataclasses.replace(
        make_event(P, access_id="forged", actor_hpr="7777777", emergency=True),
        actor_name="Dr. Invented",
    )
    return StoredEvent(seq, event, GENESIS, event_hash(event, GENESIS))


async def _patients_log(store: AuditStore, **filters: object) -> list[str]:
    groups = await store.accesses(LogQuery(P, 10, **filters))  # type: ignore[arg-type]
    return [group[0].event.access_id for group in groups]


@pytest.mark.parametrize("seq", [-1, 0])
async def test_a_row_outside_the_chain_is_refused_with_insert_rights_alone(
    backend: Backend, store: AuditStore, seq: int
) -> None:
    await store.append(make_batch("real", 2, patient=P), [])
    head = await verify(store)

    with pytest.raises(backend.refused_row_errors()):
        await backend.execute(INSERT_ROW, *stored_row(_invented_emergency_access(seq)))

    assert await _patients_log(store) == ["real"]
    assert (await verify(store, (head.head_seq, head.head_hash))).ok


@pytest.mark.parametrize("seq", [-1, 0])
async def test_verify_names_a_row_outside_the_chain_and_the_log_hides_it(
    backend: Backend, store: AuditStore, seq: int
) -> None:
    await store.append(make_batch("real", 2, patient=P), [])
    head = await verify(store)
    await backend.bypass_checks()

    await backend.execute(INSERT_ROW, *stored_row(_invented_emergency_access(seq)))

    for report in (await verify(store), await verify(store, (head.head_seq, head.head_hash))):
        assert report.problem is not None
        assert (report.problem.seq, report.problem.kind) == (seq, Tampering.OUTSIDE_CHAIN)
    assert await _patients_log(store) == ["real"]
    assert await _patients_log(store, emergency_only=True) == []


# Type juggling: each statement tries to hide the emergency access at seq 2 from the privacy
# officer's emergency-only view (or from the patient's log) without breaking the chain.
JUGGLES = {
    "sqlite": [
        "UPDATE audit_events SET emergency = 'yes' WHERE seq = 2",
        "UPDATE audit_events SET emergency = 2 WHERE seq = 2",
        "UPDATE audit_events SET patient = CAST(patient AS BLOB) WHERE seq = 2",
        "UPDATE audit_events SET stale_age_ms = '12' || 'ms' WHERE seq = 2",
    ],
    "postgres": [
        "UPDATE audit_events SET emergency = 'yes' WHERE seq = 2",
        "UPDATE audit_events SET patient = CAST(patient AS BYTEA) WHERE seq = 2",
        "UPDATE audit_events SET stale_age_ms = '12ms' WHERE seq = 2",
    ],
}


async def test_type_juggling_cannot_hide_an_access_while_the_chain_verifies(
    backend: Backend, store: AuditStore
) -> None:
    await store.append(make_batch("plain", 1, patient=P), [])
    await store.append(make_batch("emergency", 1, patient=P, emergency=True), [])
    await backend.drop_guards()

    for statement in JUGGLES[backend.kind]:
        try:
            await backend.execute(statement)
        except backend.refused_row_errors():
            continue
        # What a store accepts (PostgreSQL converts: 'yes' is true, bytes become their text)
        # either leaves the access where it belongs or breaks the chain at it.
        report = await verify(store)
        shown = await _patients_log(store, emergency_only=True) == ["emergency"] and (
            await _patients_log(store) == ["emergency", "plain"]
        )
        if report.problem is None:
            assert shown, statement
        else:
            assert (report.problem.seq, report.problem.kind) == (2, Tampering.EDITED), statement


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET emergency = 'yes' WHERE seq = 2",
        "UPDATE audit_events SET emergency = 2 WHERE seq = 2",
        "UPDATE audit_events SET patient = CAST(patient AS BLOB) WHERE seq = 2",
        "UPDATE audit_events SET stale_age_ms = '12' || 'ms' WHERE seq = 2",
        "UPDATE audit_events SET hash = CAST(hash AS BLOB) WHERE seq = 2",
    ],
    ids=["text-for-boolean", "two-for-boolean", "blob-patient", "text-for-integer", "blob-hash"],
)
async def test_verify_names_a_value_of_the_wrong_type_as_an_edit(
    tmp_path: Path, statement: str
) -> None:
    # Only SQLite can hold a value of another type than its column's (PostgreSQL's types hold
    # even with every constraint dropped): with its CHECKs ignored, verify is the last line.
    backend = SqliteBackend(tmp_path / "audit.sqlite3")
    try:
        store = backend.store()
        await store.open()
        try:
            await store.append(make_batch("plain", 1, patient=P), [])
            await store.append(make_batch("emergency", 1, patient=P, emergency=True), [])
            await store.append(make_batch("later", 1, patient=P), [])
            await backend.drop_guards()
            await backend.bypass_checks()

            await backend.execute(statement)

            report = await verify(store)
            assert report.problem is not None
            assert (report.problem.seq, report.problem.kind) == (2, Tampering.EDITED)
            assert "type" in report.problem.detail
        finally:
            await store.close()
    finally:
        await backend.close()


# Privacy alerts are in the chain.


async def _log_with_alerts(store: AuditStore) -> None:
    await store.append(make_batch("a0", 2, emergency=True), [make_alert("first", "a0")])
    await store.append(make_batch("a1", 2), [])
    await store.append(make_batch("a2", 2, emergency=True), [make_alert("second", "a2")])
    await store.append(make_batch("a3", 2), [])


async def test_alerts_are_chained_with_the_events_and_verify(store: AuditStore) -> None:
    await _log_with_alerts(store)

    report = await verify(store)

    assert report.ok, report.problem
    assert report.checked == 10  # 8 events and 2 alerts
    assert [a.alert.text for a in await store.alerts(10, None)] == ["second", "first"]


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM privacy_alerts",
        "DELETE FROM privacy_alerts WHERE text = 'first'",
        "UPDATE privacy_alerts SET text = 'nothing happened'",
        "UPDATE privacy_alerts SET actor_name = 'Dr. Nobody' WHERE text = 'second'",
    ],
    ids=["delete-all", "delete-one", "rewrite-all", "rewrite-one"],
)
async def test_verify_names_deleted_or_rewritten_alerts(
    backend: Backend, store: AuditStore, statement: str
) -> None:
    await _log_with_alerts(store)
    assert (await verify(store)).ok
    await backend.drop_guards()

    await backend.execute(statement)

    report = await verify(store)
    assert report.problem is not None, statement
    assert report.problem.kind in {Tampering.EDITED, Tampering.DELETED}
