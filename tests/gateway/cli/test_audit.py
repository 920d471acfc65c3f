"""``summary-gateway audit verify|head``, run as a user runs it: a process reading its settings
from the environment."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.audit.events import GENESIS, StoredEvent, event_hash
from gateway.audit.postgres import PostgresAuditStore
from gateway.audit.sqlite import SqliteAuditStore
from tests.audit_support import (
    INSERT_ROW,
    REPO_ROOT,
    PostgresBackend,
    drop_schema,
    make_batch,
    make_event,
    new_schema,
    opened,
    require_postgres,
    stored_row,
)
from tests.process_support import run_cli


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


async def audit_cli(env: dict[str, str], *args: str) -> Run:
    """``summary-gateway audit ARGS`` in a fresh process with only ``env``'s GATEWAY_ settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    ran = await run_cli("audit", *args, env={**clean, **env}, cwd=REPO_ROOT)
    return Run(ran.returncode, ran.out, ran.err)


@dataclass
class SqliteLog:
    data_dir: Path
    records: list[StoredEvent]

    @property
    def env(self) -> dict[str, str]:
        return {"GATEWAY_DATA_DIR": str(self.data_dir)}

    @property
    def path(self) -> Path:
        return self.data_dir / "audit.sqlite3"  # the default AuditSettings.sqlite_file

    def tamper(self, sql: str, *params: object) -> None:
        """As a DBA: drop the guards, ignore the CHECK constraints, then change the log."""
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
            db.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
            db.execute("PRAGMA ignore_check_constraints = ON")
            db.execute(sql, params)
        finally:
            db.close()


@pytest.fixture
async def sqlite_log(tmp_path: Path) -> SqliteLog:
    """A data directory whose SQLite access log holds 6 records in 3 requests."""
    async with opened(SqliteAuditStore(tmp_path / "audit.sqlite3", 5.0)) as store:
        for n in range(3):
            await store.append(make_batch(f"access-{n}", 2), [])
        records = await store.scan(0, 100)
    return SqliteLog(tmp_path, records)


async def test_verify_reports_an_intact_log(sqlite_log: SqliteLog) -> None:
    run = await audit_cli(sqlite_log.env, "verify")

    head = sqlite_log.records[-1]
    assert run.code == 0, run.err
    assert "intact" in run.out
    assert f"6 records, head 6:{head.hash}" in run.out


async def test_verify_exits_1_naming_an_edited_record(sqlite_log: SqliteLog) -> None:
    sqlite_log.tamper("UPDATE audit_events SET patient = 'someone-else' WHERE seq = 3")

    run = await audit_cli(sqlite_log.env, "verify")

    assert run.code == 1
    assert "access log BROKEN at record 3: edited" in run.out
    assert "2 records before it verified" in run.out


async def test_verify_exits_1_naming_a_deleted_record(sqlite_log: SqliteLog) -> None:
    sqlite_log.tamper("DELETE FROM audit_events WHERE seq = 4")

    run = await audit_cli(sqlite_log.env, "verify")

    assert run.code == 1
    assert "access log BROKEN at record 4: deleted" in run.out


async def test_head_prints_seq_and_hash_that_verify_accepts_as_anchor(
    sqlite_log: SqliteLog,
) -> None:
    head = await audit_cli(sqlite_log.env, "head")

    last = sqlite_log.records[-1]
    assert head.code == 0, head.err
    assert head.out.strip() == f"6:{last.hash}"
    anchored = await audit_cli(sqlite_log.env, "verify", "--anchor", head.out.strip())
    assert anchored.code == 0, anchored.err
    assert "intact" in anchored.out


async def test_verify_with_anchor_catches_a_truncated_tail(sqlite_log: SqliteLog) -> None:
    anchor = (await audit_cli(sqlite_log.env, "head")).out.strip()
    sqlite_log.tamper("DELETE FROM audit_events WHERE seq = 6")

    plain = await audit_cli(sqlite_log.env, "verify")
    anchored = await audit_cli(sqlite_log.env, "verify", "--anchor", anchor)

    assert plain.code == 0, "the chain alone cannot see a truncated tail"
    assert anchored.code == 1
    assert "access log BROKEN at record 6: deleted" in anchored.out


async def test_verify_with_a_foreign_anchor_reports_a_mismatch(sqlite_log: SqliteLog) -> None:
    run = await audit_cli(sqlite_log.env, "verify", "--anchor", f"2:{'ab' * 32}")

    assert run.code == 1
    assert "access log BROKEN at record 2: anchor-mismatch" in run.out


async def test_head_of_a_broken_log_exits_1(sqlite_log: SqliteLog) -> None:
    sqlite_log.tamper("UPDATE audit_events SET field = 'x' WHERE seq = 5")

    run = await audit_cli(sqlite_log.env, "head")

    assert run.code == 1
    assert run.out.strip() == f"4:{sqlite_log.records[3].hash}"


def _forged_first_record() -> tuple[object, ...]:
    """An emergency access hashed from the genesis value, at seq -1: outside the chain."""
    event = make_event(access_id="forged", actor_hpr="7777777", emergency=True)
    return stored_row(StoredEvent(-1, event, GENESIS, event_hash(event, GENESIS)))


async def test_verify_exits_1_naming_a_row_forged_outside_the_chain(
    sqlite_log: SqliteLog,
) -> None:
    anchor = (await audit_cli(sqlite_log.env, "head")).out.strip()
    sqlite_log.tamper(INSERT_ROW, *_forged_first_record())

    for run in (
        await audit_cli(sqlite_log.env, "verify"),
        await audit_cli(sqlite_log.env, "verify", "--anchor", anchor),
    ):
        assert run.code == 1, run.out
        assert "access log BROKEN at record -1: outside-chain" in run.out


@pytest.mark.parametrize("anchor", ["6", "six:" + "a" * 64, "6:abc"])
async def test_verify_refuses_a_malformed_anchor(sqlite_log: SqliteLog, anchor: str) -> None:
    run = await audit_cli(sqlite_log.env, "verify", "--anchor", anchor)

    assert run.code == 2
    assert "SEQ:HASH" in run.err


@pytest.fixture
async def postgres_log() -> AsyncIterator[tuple[str, str]]:
    """A PostgreSQL schema whose access log holds 4 records; (DSN, schema)."""
    dsn = await require_postgres()
    schema = new_schema()
    try:
        async with opened(PostgresAuditStore(dsn, schema, 5.0)) as store:
            await store.append(make_batch("pg-1", 4), [])
        yield dsn, schema
    finally:
        await drop_schema(dsn, schema)


async def test_verify_reads_the_postgres_log_the_environment_names(
    postgres_log: tuple[str, str], tmp_path: Path
) -> None:
    dsn, schema = postgres_log
    env = {
        "GATEWAY_DATA_DIR": str(tmp_path),
        "GATEWAY_AUDIT__POSTGRES_DSN": dsn,
        "GATEWAY_AUDIT__POSTGRES_SCHEMA": schema,
    }

    run = await audit_cli(env, "verify")

    assert run.code == 0, run.err
    assert "intact: 4 records" in run.out
    assert not (tmp_path / "audit.sqlite3").exists()


async def test_verify_names_a_row_forged_outside_the_postgres_chain(
    postgres_log: tuple[str, str], tmp_path: Path
) -> None:
    dsn, schema = postgres_log
    env = {
        "GATEWAY_DATA_DIR": str(tmp_path),
        "GATEWAY_AUDIT__POSTGRES_DSN": dsn,
        "GATEWAY_AUDIT__POSTGRES_SCHEMA": schema,
    }
    anchor = (await audit_cli(env, "head")).out.strip()
    attacker = PostgresBackend(dsn, schema)
    try:
        await attacker.bypass_checks()
        await attacker.execute(INSERT_ROW, *_forged_first_record())
    finally:
        await attacker.close()

    for run in (
        await audit_cli(env, "verify"),
        await audit_cli(env, "verify", "--anchor", anchor),
    ):
        assert run.code == 1, run.out
        assert "access log BROKEN at record -1: outside-chain" in run.out


async def test_verify_exits_2_when_the_log_cannot_be_read(tmp_path: Path) -> None:
    env = {
        "GATEWAY_DATA_DIR": str(tmp_path),
        # Nothing listens on port 1.
        "GATEWAY_AUDIT__POSTGRES_DSN": "postgresql://postgres@127.0.0.1:1/test",
    }

    run = await audit_cli(env, "verify")

    assert run.code == 2
    assert "the access log cannot be read" in run.err
