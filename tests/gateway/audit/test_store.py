"""The access log on both real stores: chaining, append-only guards, tamper detection, several
processes writing at once, group commit and failing closed, and the privacy officers' queries."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gateway.audit.events import GENESIS, StoredEvent, event_hash
from gateway.audit.postgres import PostgresAuditStore
from gateway.audit.sqlite import SqliteAuditStore
from gateway.audit.store import AuditStore, AuditUnavailable, LogQuery
from gateway.audit.verify import Report, Tampering, verify
from gateway.audit.writer import AuditWriter
from tests.audit_support import (
    INSERT_ROW,
    REPO_ROOT,
    Backend,
    PostgresBackend,
    SqliteBackend,
    TcpProxy,
    drop_schema,
    make_alert,
    make_batch,
    make_event,
    new_schema,
    opened,
    require_postgres,
    stored_row,
)


async def all_records(store: AuditStore) -> list[StoredEvent]:
    return await store.scan(0, 100_000)


async def fill(store: AuditStore, sizes: list[int]) -> list[StoredEvent]:
    """Append one batch per size (events of one access each); the records as stored."""
    for number, size in enumerate(sizes):
        await store.append(make_batch(f"access-{number}", size), [])
    return await all_records(store)


# 1. Appending and reading back


async def test_batches_appended_form_one_verified_chain(store: AuditStore) -> None:
    batches = [
        make_batch(f"access-{n}", size, stale_age_ms=n * 10) for n, size in enumerate([1, 3, 5, 2])
    ]
    for batch in batches:
        await store.append(batch, [])

    records = await all_records(store)
    report = await verify(store)

    assert report.ok, report.problem
    assert report.checked == 11
    assert [r.seq for r in records] == list(range(1, 12))
    assert [r.event for r in records] == [event for batch in batches for event in batch]
    assert (report.head_seq, report.head_hash) == (11, records[-1].hash)
    assert records[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.hash
        assert after.hash == event_hash(after.event, before.hash)


async def test_scan_pages_from_a_seq(store: AuditStore) -> None:
    await fill(store, [4, 4])

    assert [r.seq for r in await store.scan(3, 4)] == [4, 5, 6, 7]
    assert [r.seq for r in await store.scan(7, 100)] == [8]
    assert await store.scan(8, 100) == []


async def test_empty_log_verifies_with_the_genesis_head(store: AuditStore) -> None:
    report = await verify(store)

    assert report == Report(0, 0, GENESIS, None)


# 2. Append-only


async def test_update_and_delete_of_a_record_are_refused(
    backend: Backend, store: AuditStore
) -> None:
    before = await fill(store, [3])

    with pytest.raises(backend.append_only_errors(), match="append-only"):
        await backend.execute("UPDATE audit_events SET patient = ? WHERE seq = 2", "someone-else")
    with pytest.raises(backend.append_only_errors(), match="append-only"):
        await backend.execute("DELETE FROM audit_events WHERE seq = 2")

    assert await all_records(store) == before
    assert (await verify(store)).ok


async def test_update_and_delete_of_an_alert_are_refused(
    backend: Backend, store: AuditStore
) -> None:
    await store.append(make_batch("a", 1), [make_alert("first")])

    with pytest.raises(backend.append_only_errors(), match="append-only"):
        await backend.execute("UPDATE privacy_alerts SET text = 'nothing happened'")
    with pytest.raises(backend.append_only_errors(), match="append-only"):
        await backend.execute("DELETE FROM privacy_alerts")

    assert [a.alert.text for a in await store.alerts(10, None)] == ["first"]


@pytest.mark.parametrize("table", ["audit_events", "privacy_alerts"])
async def test_postgres_refuses_truncate(table: str) -> None:
    dsn = await require_postgres()
    schema = new_schema()
    backend = PostgresBackend(dsn, schema)
    try:
        async with opened(backend.store()) as store:
            await store.append(make_batch("a", 2), [make_alert("kept")])
            with pytest.raises(backend.append_only_errors(), match="append-only"):
                await backend.execute(f"TRUNCATE {table}")
            assert len(await all_records(store)) == 2
            assert len(await store.alerts(10, None)) == 1
    finally:
        await backend.close()
        await drop_schema(dsn, schema)


# 3. Tamper detection, by an attacker who first disables the guards

K = 5  # the record tampered with, in a log of 12


async def tampered(
    backend: Backend, store: AuditStore, tamper: Callable[[list[StoredEvent]], Awaitable[None]]
) -> Report:
    records = await fill(store, [3, 3, 3, 3])
    assert (await verify(store)).ok
    await backend.drop_guards()
    await backend.bypass_checks()  # the moves below pass through negative seqs
    await tamper(records)
    return await verify(store)


async def test_verify_names_an_edited_record(backend: Backend, store: AuditStore) -> None:
    async def edit(_records: list[StoredEvent]) -> None:
        await backend.execute("UPDATE audit_events SET patient = ? WHERE seq = ?", "other", K)

    report = await tampered(backend, store, edit)

    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (K, Tampering.EDITED)
    assert report.checked == K - 1


async def test_verify_catches_an_edited_and_rehashed_record_at_its_successor(
    backend: Backend, store: AuditStore
) -> None:
    async def edit_and_rehash(records: list[StoredEvent]) -> None:
        target = records[K - 1]
        forged = dataclasses.replace(target.event, patient="other")
        await backend.execute(
            "UPDATE audit_events SET patient = ?, hash = ? WHERE seq = ?",
            "other",
            event_hash(forged, target.prev_hash),
            K,
        )

    report = await tampered(backend, store, edit_and_rehash)

    # Record K is self-consistent now; the link from K+1 names a hash no record has any more.
    assert not report.ok
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (K + 1, Tampering.DELETED)
    assert report.checked == K


async def test_verify_names_a_deleted_record(backend: Backend, store: AuditStore) -> None:
    async def delete(_records: list[StoredEvent]) -> None:
        await backend.execute("DELETE FROM audit_events WHERE seq = ?", K)

    report = await tampered(backend, store, delete)

    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (K, Tampering.DELETED)


async def test_verify_names_a_deleted_record_when_the_rest_were_renumbered(
    backend: Backend, store: AuditStore
) -> None:
    async def delete_and_close_the_gap(_records: list[StoredEvent]) -> None:
        await backend.execute("DELETE FROM audit_events WHERE seq = ?", K)
        await backend.execute("UPDATE audit_events SET seq = -(seq - 1) WHERE seq > ?", K)
        await backend.execute("UPDATE audit_events SET seq = -seq WHERE seq < 0")

    report = await tampered(backend, store, delete_and_close_the_gap)

    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (K, Tampering.DELETED)


async def test_verify_names_an_inserted_record(backend: Backend, store: AuditStore) -> None:
    async def insert(records: list[StoredEvent]) -> None:
        # Make room after K (through negative seqs: the primary key is checked row by row) ...
        await backend.execute("UPDATE audit_events SET seq = -(seq + 1) WHERE seq > ?", K)
        await backend.execute("UPDATE audit_events SET seq = -seq WHERE seq < 0")
        # ... and put a correctly hashed record linked to K there.
        link = records[K - 1].hash
        event = make_event(access_id="forged", patient="covered-up")
        forged = StoredEvent(K + 1, event, link, event_hash(event, link))
        await backend.execute(INSERT_ROW, *stored_row(forged))

    report = await tampered(backend, store, insert)

    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (K + 1, Tampering.INSERTED)
    assert len(await all_records(store)) == 13


async def test_verify_names_reordered_records(backend: Backend, store: AuditStore) -> None:
    async def swap(_records: list[StoredEvent]) -> None:
        await backend.execute("UPDATE audit_events SET seq = -1 WHERE seq = ?", K)
        await backend.execute("UPDATE audit_events SET seq = ? WHERE seq = ?", K, K + 1)
        await backend.execute("UPDATE audit_events SET seq = ? WHERE seq = -1", K + 1)

    report = await tampered(backend, store, swap)

    records = await all_records(store)
    assert [r.seq for r in records] == list(range(1, 13))
    assert records[K - 1].event.access_id == "access-1"  # really swapped
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (K, Tampering.REORDERED)


async def test_an_anchor_catches_a_truncated_tail_the_chain_cannot(
    backend: Backend, store: AuditStore
) -> None:
    records = await fill(store, [3, 3])
    anchor = (records[-1].seq, records[-1].hash)
    assert (await verify(store, anchor)).ok
    wrong = await verify(store, (anchor[0], "f" * 64))
    assert wrong.problem is not None
    assert (wrong.problem.seq, wrong.problem.kind) == (6, Tampering.ANCHOR_MISMATCH)

    await backend.drop_guards()
    await backend.execute("DELETE FROM audit_events WHERE seq = 6")

    alone = await verify(store)
    assert alone.ok
    assert (alone.checked, alone.head_seq) == (5, 5)
    anchored = await verify(store, anchor)
    assert anchored.problem is not None
    assert (anchored.problem.seq, anchored.problem.kind) == (6, Tampering.DELETED)

    # The gateway writes on over the gap: record 6 exists again, but it is not the anchored one.
    await store.append(make_batch("later", 2), [])
    assert (await verify(store)).ok
    rewritten = await verify(store, anchor)
    assert rewritten.problem is not None
    assert (rewritten.problem.seq, rewritten.problem.kind) == (6, Tampering.ANCHOR_MISMATCH)


# 4. Several processes writing one log


async def _append_in_processes(backend: Backend, tags: list[str]) -> list[tuple[float, float]]:
    """Start one writer process per tag, let them all open, then release them at once.

    Returns when each one began and finished appending.
    """
    if isinstance(backend, SqliteBackend):
        target = [str(backend.path)]
    else:
        assert isinstance(backend, PostgresBackend)
        target = [backend.dsn, "--schema", backend.schema]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.audit_support",
            backend.kind,
            *target,
            "--tag",
            tag,
            "--batches",
            "40",
            "--size",
            "3",
            cwd=REPO_ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for tag in tags
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            if line != b"ready\n":
                _, err = await process.communicate()
                raise AssertionError(f"writer did not open: {line!r} {err.decode()}")
        start = f"{time.time() + 0.3}\n".encode()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(start)
            await process.stdin.drain()
        results = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), 60)
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    spans = []
    for process, (out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err.decode()
        word, began, ended = out.decode().split()
        assert word == "done"
        spans.append((float(began), float(ended)))
    return spans


async def test_two_processes_appending_at_once_keep_one_verified_chain(
    backend: Backend,
) -> None:
    # Neither process finds the log's tables: both create them, and then both write.
    (a_began, a_ended), (b_began, b_ended) = await _append_in_processes(backend, ["A", "B"])

    async with opened(backend.store()) as store:
        report = await verify(store)
        records = await all_records(store)

    # A real race: each started appending before the other had finished.
    assert a_began < b_ended
    assert b_began < a_ended
    assert report.ok, report.problem
    assert report.checked == len(records) == 240
    owners = [r.event.access_id.split("-")[0] for r in records]
    assert owners.count("A") == owners.count("B") == 120
    # Each batch is contiguous: one transaction, never split by the other writer.
    batches = [r.event.access_id for r in records]
    assert all(batches[i] == batches[i + 1] == batches[i + 2] for i in range(0, 240, 3))
    if backend.kind == "postgres":
        # The advisory lock queues its waiters, so the two writers' batches interleave.
        # (SQLite's busy handler polls, and a writer committing back to back can keep the
        # lock throughout: there only the overlap in time above is certain.)
        switches = sum(1 for a, b in itertools.pairwise(owners) if a != b)
        assert switches > 1, "the two writers never overlapped"


async def test_postgres_stores_opening_a_new_schema_at_once_all_open() -> None:
    dsn = await require_postgres()
    for _round in range(3):  # the race is narrow: give it several chances
        schema = new_schema()
        stores = [PostgresAuditStore(dsn, schema, 5.0) for _ in range(6)]
        try:
            outcomes = await asyncio.gather(*(s.open() for s in stores), return_exceptions=True)
            assert [o for o in outcomes if o is not None] == []
            await asyncio.gather(
                *(s.append(make_batch(f"s{i}", 2), []) for i, s in enumerate(stores))
            )
            report = await verify(stores[0])
            assert report.ok
            assert report.checked == 12
        finally:
            await asyncio.gather(*(s.close() for s in stores))
            await drop_schema(dsn, schema)


# 5. Group commit, and failing closed


async def test_concurrent_commits_share_transactions_and_all_land(
    backend: Backend, store: AuditStore
) -> None:
    writer = AuditWriter(store, max_batch=500, timeout_s=5.0)
    await writer.start()
    try:
        await asyncio.gather(*(writer.commit(make_batch(f"req-{n}", 2), []) for n in range(50)))
    finally:
        await writer.stop()

    records = await all_records(store)
    report = await verify(store)
    assert report.ok, report.problem
    assert report.checked == len(records) == 100
    assert sorted({r.event.access_id for r in records}) == sorted(f"req-{n}" for n in range(50))
    # Whole requests only: each request's two events are next to each other.
    assert all(
        records[i].event.access_id == records[i + 1].event.access_id for i in range(0, 100, 2)
    )
    assert 1 <= writer.commits < 50


async def test_a_commit_is_refused_before_the_writer_starts(store: AuditStore) -> None:
    writer = AuditWriter(store, max_batch=500, timeout_s=1.0)

    with pytest.raises(AuditUnavailable):
        await writer.commit(make_batch("a", 1), [])

    assert await all_records(store) == []


async def test_a_locked_sqlite_log_fails_the_commit_closed_and_recovers(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    async with opened(SqliteAuditStore(path, busy_timeout_s=0.2)) as store:
        writer = AuditWriter(store, max_batch=500, timeout_s=3.0)
        await writer.start()
        try:
            await writer.commit(make_batch("before", 1), [])
            locker = sqlite3.connect(path, isolation_level=None)
            try:
                locker.execute("BEGIN EXCLUSIVE")
                started = time.monotonic()
                with pytest.raises(AuditUnavailable):
                    await writer.commit(make_batch("while-locked", 2), [])
                # Bounded by the writer's timeout (3 s), not hung: a generous bound, so a busy
                # machine cannot fail it.
                assert time.monotonic() - started < 2 * 3.0
            finally:
                locker.rollback()
                locker.close()
            await writer.commit(make_batch("after", 1), [])
        finally:
            await writer.stop()

        records = await all_records(store)
        assert [r.event.access_id for r in records] == ["before", "after"]
        assert (await verify(store)).ok


async def test_a_lost_postgres_connection_fails_the_commit_closed_in_time() -> None:
    dsn = await require_postgres()
    schema = new_schema()
    target = urlsplit(dsn)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    proxied = target._replace(netloc=f"{target.username}@127.0.0.1:{proxy.port}").geturl()
    store = PostgresAuditStore(proxied, schema, 2.0)
    try:
        await store.open()
        writer = AuditWriter(store, max_batch=500, timeout_s=2.0)
        await writer.start()
        try:
            await writer.commit(make_batch("before", 1), [])
            await proxy.cut()
            started = time.monotonic()
            with pytest.raises(AuditUnavailable):
                await writer.commit(make_batch("cut-off", 2), [])
            # Bounded by the writer's timeout (2 s), not hung on the dead connection.
            assert time.monotonic() - started < 2 * 2.0
        finally:
            await writer.stop()
        with pytest.raises(AuditUnavailable):
            await store.ping()
    finally:
        await proxy.cut()
        await store.close()
    try:
        async with opened(PostgresAuditStore(dsn, schema, 5.0)) as direct:
            assert [r.event.access_id for r in await all_records(direct)] == ["before"]
    finally:
        await drop_schema(dsn, schema)


# 6. The privacy officers' queries

P, Q = "01010112345", "02020254321"


async def _access_log_fixture(store: AuditStore) -> None:
    await store.append(
        make_batch("a1", 2, patient=P, actor_hpr="111", at="2026-01-01T10:00:00.000000Z"), []
    )
    await store.append(make_batch("q1", 2, patient=Q, at="2026-01-01T11:00:00.000000Z"), [])
    await store.append(
        make_batch(
            "a2", 3, patient=P, actor_hpr="222", emergency=True, at="2026-01-02T10:00:00.000000Z"
        ),
        [],
    )
    # One request that read two patients: Q's event must not show in P's log.
    await store.append(
        [
            make_event(P, access_id="a3", actor_hpr="111", at="2026-01-03T10:00:00.000000Z"),
            make_event(Q, access_id="a3", actor_hpr="111", at="2026-01-03T10:00:00.000000Z"),
            make_event(
                P,
                access_id="a3",
                actor_hpr="111",
                at="2026-01-03T10:00:00.000000Z",
                field_name="allergies",
            ),
        ],
        [],
    )


def _shape(groups: list[list[StoredEvent]]) -> list[tuple[str, list[int]]]:
    return [(g[0].event.access_id, [r.seq for r in g]) for g in groups]


async def test_accesses_group_a_patients_events_by_request_newest_first(store: AuditStore) -> None:
    await _access_log_fixture(store)

    groups = await store.accesses(LogQuery(patient=P, first=10))

    assert _shape(groups) == [("a3", [8, 10]), ("a2", [5, 6, 7]), ("a1", [1, 2])]
    assert all(r.event.patient == P for g in groups for r in g)


async def test_accesses_page_with_first_and_before_seq(store: AuditStore) -> None:
    await _access_log_fixture(store)

    page1 = await store.accesses(LogQuery(patient=P, first=2))
    page2 = await store.accesses(LogQuery(patient=P, first=2, before_seq=page1[-1][-1].seq))

    assert _shape(page1) == [("a3", [8, 10]), ("a2", [5, 6, 7])]
    assert _shape(page2) == [("a1", [1, 2])]
    assert await store.accesses(LogQuery(patient=P, first=2, before_seq=1)) == []


DAY2, DAY3 = "2026-01-02T00:00:00.000000Z", "2026-01-03T00:00:00.000000Z"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (LogQuery(P, 10, actor_hpr="111"), ["a3", "a1"]),
        (LogQuery(P, 10, actor_hpr="999"), []),
        (LogQuery(P, 10, since="2026-01-02T10:00:00.000000Z"), ["a3", "a2"]),
        (LogQuery(P, 10, until="2026-01-02T10:00:00.000000Z"), ["a1"]),
        (LogQuery(P, 10, since=DAY2, until=DAY3), ["a2"]),
        (LogQuery(P, 10, emergency_only=True), ["a2"]),
        (LogQuery(P, 10, actor_hpr="111", before_seq=8), ["a1"]),
        (LogQuery(P, 1, actor_hpr="111", since=DAY2), ["a3"]),
    ],
    ids=["actor", "other-actor", "since", "until", "window", "emergency", "actor-paged", "first"],
)
async def test_accesses_honour_the_filters(
    store: AuditStore, query: LogQuery, expected: list[str]
) -> None:
    await _access_log_fixture(store)

    groups = await store.accesses(query)

    assert [g[0].event.access_id for g in groups] == expected


async def test_alerts_come_newest_first_in_pages(store: AuditStore) -> None:
    sent = [make_alert(f"alert {n}", access_id=f"a{n}") for n in range(5)]
    await store.append(make_batch("a0", 1), sent[:2])
    await store.append(make_batch("a2", 1), sent[2:])

    page1 = await store.alerts(2, None)
    page2 = await store.alerts(2, page1[-1].id)
    page3 = await store.alerts(2, page2[-1].id)

    assert [a.alert for a in page1 + page2 + page3] == sent[::-1]
    assert [len(page1), len(page2), len(page3)] == [2, 2, 1]
    ids = [a.id for a in page1 + page2 + page3]
    assert ids == sorted(ids, reverse=True)
    assert await store.alerts(2, ids[-1]) == []
