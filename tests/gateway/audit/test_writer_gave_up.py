"""The access-log writer when a request stops waiting for its commit.

Run as ``python -m tests.gateway.audit.test_writer_gave_up DIR``: one request gives up on its commit
while another process holds the SQLite lock, then the write itself fails. asyncio reports a
future whose exception nobody read when the future is collected, at the latest when the
process ends, so the test reads the whole process's output.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

from gateway.audit.sqlite import SqliteAuditStore
from gateway.audit.store import AuditUnavailable
from gateway.audit.writer import AuditWriter
from gateway.ops.metrics import GatewayMetrics
from tests.audit_support import REPO_ROOT, make_event


async def _give_up_then_fail(directory: Path) -> None:
    path = directory / "audit.sqlite3"
    # SQLite waits up to 1 s for the lock; the request waits 0.2 s for its commit.
    store = SqliteAuditStore(path, busy_timeout_s=1.0)
    await store.open()
    writer = AuditWriter(store, max_batch=100, timeout_s=0.2)
    metrics = GatewayMetrics()
    writer.metrics = metrics.audit
    await writer.start()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        try:
            await writer.commit([make_event()], [])
        except AuditUnavailable as exc:
            print(f"request: {exc}", flush=True)
        # The writer's failed commit shows only in its metric: poll it (no event to wait on).
        async with asyncio.timeout(30):
            failures = "gateway_audit_write_failures_total"
            while not metrics.registry.get_sample_value(failures):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        print("writer: the write failed", flush=True)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        await writer.stop()
        await store.close()


def test_a_write_that_fails_after_its_request_gave_up_logs_no_unretrieved_exception(
    tmp_path: Path,
) -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "tests.gateway.audit.test_writer_gave_up", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert "request: the access log did not confirm the write in time" in ran.stdout
    assert "writer: the write failed" in ran.stdout
    assert "never retrieved" not in ran.stderr, ran.stderr


if __name__ == "__main__":
    asyncio.run(_give_up_then_fail(Path(sys.argv[1])))
