"""The benchmark harness in its smoke mode: every figure is produced, with sane values.

Not a speed test (speed lives in ``bench/`` and its full run): the figures are checked for being
there and plausible, so CI notices when the harness breaks. Needs wrk, PostgreSQL and Redis
(skips without them, fails under CI=true); the peer runs when ``bench/peer/node_modules`` is
installed (``make bench``), and is otherwise reported as skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.exceptions

from bench.stack import peer_installed
from mocks.sources import Source
from tests.audit_support import require_postgres
from tests.conftest import REDIS_URL

SMOKE_TIMEOUT_S = 180
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _require_wrk() -> None:
    if shutil.which("wrk") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs wrk (make test installs Debian's package when root)")
        pytest.skip("wrk is not installed (apt-get install wrk)")


def _require_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"CI needs Redis at {REDIS_URL}") from exc
        pytest.skip(f"no Redis at {REDIS_URL} ({type(exc).__name__})")
    finally:
        client.close()


@pytest.fixture(scope="module")
async def smoke_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One smoke run of the whole harness, shared by this module's tests."""
    _require_wrk()
    _require_redis()
    dsn = await require_postgres()
    results_dir = tmp_path_factory.mktemp("bench-results")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench",
        "--smoke",
        "--results-dir",
        str(results_dir),
        "--postgres-dsn",
        dsn,
        "--redis-url",
        REDIS_URL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=PROJECT_ROOT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), SMOKE_TIMEOUT_S)
    assert process.returncode == 0, output.decode()[-3000:]
    [json_file] = results_dir.glob("*-smoke.json")
    results: dict[str, Any] = json.loads(json_file.read_text())
    results["_markdown"] = json_file.with_suffix(".md").read_text()
    results["_stdout"] = output.decode()
    return results


def _ordered(summary: dict[str, Any], *, summaries: bool = True) -> None:
    assert summary["rps"] > 0
    for run in summary["runs"]:
        assert run["errors"] == 0
        assert 0 < run["p50_ms"] <= run["p99_ms"]
        if summaries:
            # Whole summaries of 13-15 KB (and headers) came back, not error answers.
            assert 13_000 < run["bytes_per_request"] < 16_000
    assert summary["cpu_ms_per_request"] > 0


def _registries_worked(summary: dict[str, Any]) -> None:
    """Every registry ran in a process of its own, and the registries' CPU was counted (a
    single registry's may read 0 in a short run: /proc counts CPU in 10 ms ticks)."""
    assert summary["registries_cpu_ms_per_request"] > 0
    for run in summary["runs"]:
        by_source = run["registries_cpu_ms_by_source"]
        assert sorted(by_source) == sorted(s.value for s in Source)
        assert run["registries_cpu_ms_per_request"] == pytest.approx(
            sum(by_source.values()), abs=0.01
        )


def test_the_registries_run_one_process_each_with_memoised_answers(
    smoke_results: dict[str, Any],
) -> None:
    assert smoke_results["registries"] == {"processes": "one per registry", "memoised": True}
    assert "registries" in smoke_results["_markdown"]


def test_fanout_ratio_is_measured_at_each_latency(smoke_results: dict[str, Any]) -> None:
    rows = smoke_results["fanout"]["rows"]
    assert [row["latency_ms"] for row in rows] == [20, 50, 100]
    for row in rows:
        # A summary cannot come back before its registries have answered.
        assert row["p50_ms"] >= row["latency_ms"]
        assert 1.0 <= row["ratio"] < 100
        # The gateway's CPU and the registries' apart (a few summaries a second at one
        # connection: /proc counts CPU in 10 ms ticks, so either may read 0 in a 1 s run).
        assert row["cpu_ms_per_request"] >= 0
        assert row["registries_cpu_ms_per_request"] >= 0
    assert smoke_results["fanout"]["worst_ratio"] == max(row["ratio"] for row in rows)


def test_warm_cost_limit_ratio_audit_cost_and_memory_are_measured(
    smoke_results: dict[str, Any],
) -> None:
    warm = {row["workers"]: row for row in smoke_results["warm"]}
    assert sorted(warm) == [1, 2]
    for workers, row in warm.items():
        _ordered(row["warm"])
        _ordered(row["ceiling"])  # the benchmark patient's summary, pre-encoded
        # Warm: only the never-cached Consent read goes upstream; concurrent requests' reads
        # share FHIR batches, so there are fewer exchanges than reads.
        assert 1.0 <= row["warm"]["searches_per_request"] < 2.0
        assert 0 < row["warm"]["upstream_calls_per_request"] <= row["warm"]["searches_per_request"]
        assert 0 < row["limit_ratio"] < 1
        assert 10_000 < row["summary_bytes"] < 20_000
        if workers == 2:
            assert 0 < row["audit"]["on_off_ratio"] < 2
            _ordered(row["audit"]["off"])
            memory = row["memory"]
            assert len(memory["rss_after_warmup_mb"]) == 2
            assert all(20 < mb < 2000 for mb in memory["rss_after_run_mb"])


def test_every_variant_serves_whole_summaries(smoke_results: dict[str, Any]) -> None:
    [variant] = smoke_results["variants"]
    assert variant["variant"] == "postgres+memory"
    _ordered(variant)
    # The PostgreSQL access log is priced too: the same variant without its write, in turns.
    assert 0 < variant["audit"]["on_off_ratio"] < 2
    _ordered(variant["audit"]["off"])


def test_cold_work_calls_every_search_and_meets_the_peer_when_installed(
    smoke_results: dict[str, Any],
) -> None:
    [cold] = smoke_results["cold"]
    _ordered(cold["ours"])
    # Cache off: every summary makes all of its searches (15 for these patients), some of them
    # carried by FHIR batches: fewer HTTP exchanges than searches.
    assert cold["ours"]["searches_per_request"] >= 14
    assert 0 < cold["ours"]["upstream_calls_per_request"] < cold["ours"]["searches_per_request"]
    _registries_worked(cold["ours"])
    if peer_installed():
        _ordered(cold["peer"], summaries=False)
        assert cold["peer"]["upstream_calls_per_request"] >= 14
        # The peer sends each search alone: as many exchanges as searches.
        peer_calls = cold["peer"]["upstream_calls_per_request"]
        assert abs(cold["peer"]["searches_per_request"] - peer_calls) < 0.5
        _registries_worked(cold["peer"])
        assert cold["ours_over_peer"] > 0
    else:
        assert "peer" not in cold
        assert "node_modules" in smoke_results["peer_skipped"]


def test_targets_and_table_are_written(smoke_results: dict[str, Any]) -> None:
    assert len(smoke_results["targets"]) == 5
    for figure in ("1. fan-out", "2. warm cost", "3. limit ratio", "4. audit cost", "6. memory"):
        assert figure in smoke_results["_markdown"]
        assert figure in smoke_results["_stdout"]
    assert "5. cold work vs peer" in smoke_results["_markdown"]
