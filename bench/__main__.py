"""``python -m bench``: run every figure and write ``bench/results/<timestamp>.{json,md}``."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.config import BenchConfig
from bench.figures import run_all
from bench.report import markdown, verdicts
from bench.stack import Stack


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few seconds a figure (CI)")
    parser.add_argument("--duration", type=float, help="seconds per throughput run (20)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per server (5)")
    parser.add_argument("--fanout-duration", type=float, help="seconds per fan-out run (15)")
    parser.add_argument("--memory-duration", type=float, help="seconds of the long run (600)")
    parser.add_argument("--rounds", type=int, help="alternations per comparison (2)")
    parser.add_argument("--connections", type=int, help="concurrent connections (32)")
    parser.add_argument("--workers", type=int, nargs="+", help="worker counts to measure (1 2)")
    parser.add_argument("--no-peer", action="store_true", help="skip the Hive Gateway peer")
    parser.add_argument(
        "--no-mock-memo",
        action="store_true",
        help="the registries search and encode every answer afresh (default: memoised)",
    )
    parser.add_argument("--postgres-dsn", help="PostgreSQL for the access-log variants")
    parser.add_argument("--redis-url", help="Redis for the cache variants")
    parser.add_argument("--results-dir", type=Path, help="where to write (bench/results)")
    return parser


def config_from(args: argparse.Namespace) -> BenchConfig:
    """The configuration the command line asks for."""
    config = BenchConfig.smoke_run() if args.smoke else BenchConfig()
    given = {
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "fanout_duration_s": args.fanout_duration,
        "memory_duration_s": args.memory_duration,
        "rounds": args.rounds,
        "connections": args.connections,
        "workers": tuple(args.workers) if args.workers else None,
        "postgres_dsn": args.postgres_dsn,
        "redis_url": args.redis_url,
        "results_dir": args.results_dir,
    }
    config = replace(config, **{k: v for k, v in given.items() if v is not None})
    config = replace(config, peer=False) if args.no_peer else config
    return replace(config, memoised_mocks=False) if args.no_mock_memo else config


def run(config: BenchConfig) -> tuple[dict[str, Any], Path]:
    """Run the benchmark; return its results and the JSON file they were written to."""
    started = time.monotonic()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    with Stack(config) as stack:
        figures = run_all(stack, config)
    results: dict[str, Any] = {
        "started": stamp,
        "smoke": config.smoke,
        "connections": config.connections,
        "duration_s": config.duration_s,
        "rounds": config.rounds,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "registries": {"processes": "one per registry", "memoised": config.memoised_mocks},
        **figures,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    results["targets"] = [v.to_json() for v in verdicts(results)]
    config.results_dir.mkdir(parents=True, exist_ok=True)
    path = config.results_dir / f"{stamp}{'-smoke' if config.smoke else ''}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    path.with_suffix(".md").write_text(markdown(results))
    return results, path


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, say where the results are."""
    config = config_from(_parser().parse_args(argv))
    results, path = run(config)
    sys.stdout.write(markdown(results))
    sys.stdout.write(f"\nwritten: {path} and {path.with_suffix('.md').name}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
