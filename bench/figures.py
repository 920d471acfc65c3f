"""The six figures, each a ratio of runs made in the same session so machine noise cancels.

Servers that are compared run side by side and take turns (ours, other, ours, other), so a
slow moment of the machine falls on both. Each function returns the figure as plain data.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Iterator
from typing import Any

from bench.config import PRIMARY, BenchConfig, Variant
from bench.load import Measurement, Target
from bench.patients import BENCH_PATIENT, PANEL
from bench.queries import check_peer, check_summary, peer_body, summary_body
from bench.servers import Server
from bench.stack import Stack, peer_installed

MB = 1024 * 1024


def ours(stack: Stack, server: Server) -> Target:
    """The gateway (or the no-audit gateway) asked for the panel's summaries."""
    return Target(
        stack,
        server,
        bodies=[summary_body(nin) for nin in PANEL],
        headers=stack.issuer.headers(),
        check=check_summary,
    )


def warm_up(config: BenchConfig, target: Target) -> None:
    """Load ``target`` unmeasured for the warm-up time (none in the smoke run)."""
    if config.warmup_s > 0:
        target.run(config.connections, config.warmup_s)


def _any_answer(_answer: bytes) -> None:
    """The ceiling's answer is fixed bytes: any 200 will do."""


def mean_rps(runs: list[Measurement]) -> float:
    """Mean requests per second of ``runs``."""
    return statistics.fmean(m.rps for m in runs)


def summary_of(runs: list[Measurement]) -> dict[str, Any]:
    """Means of the runs' figures, and the runs themselves."""
    return {
        "rps": round(mean_rps(runs), 1),
        "p50_ms": round(statistics.fmean(m.load.p50_ms for m in runs), 2),
        "p99_ms": round(statistics.fmean(m.load.p99_ms for m in runs), 2),
        "cpu_ms_per_request": round(statistics.fmean(m.cpu_ms_per_request for m in runs), 3),
        "registries_cpu_ms_per_request": round(
            statistics.fmean(m.registries_cpu_ms_per_request for m in runs), 3
        ),
        "upstream_calls_per_request": round(
            statistics.fmean(m.upstream_calls_per_request for m in runs), 2
        ),
        "searches_per_request": round(statistics.fmean(m.searches_per_request for m in runs), 2),
        "runs": [m.to_json() for m in runs],
    }


@contextlib.contextmanager
def started(*servers: Server) -> Iterator[None]:
    """Start every server (all at once), and stop them all however the block ends."""
    with contextlib.ExitStack() as stack:
        for server in servers:
            stack.callback(server.stop)
            server.launch()
        for server in servers:
            server.wait_ready()
        yield


def warm_primary(stack: Stack, config: BenchConfig, workers: int) -> dict[str, Any]:
    """Warm cost, limit ratio, and (with the most workers) audit cost and memory, side by side.

    The gateway, the ceiling app and the gateway without its access-log write run together;
    each round measures them one after the other.
    """
    full = workers == max(config.workers)
    gateway = stack.gateway(PRIMARY, workers, warm=True)
    no_audit = stack.gateway(PRIMARY, workers, warm=True, factory="bench.no_audit:create_app")
    with started(gateway):
        target = ours(stack, gateway)
        body = target.check()  # the benchmark patient's summary: the ceiling's answer
        ceiling = stack.ceiling(workers, body)
        with started(ceiling, *([no_audit] if full else [])):
            target.prime()
            warm_up(config, target)
            rss_warm = gateway.rss_bytes()
            roof = Target(stack, ceiling, bodies=[b"{}"], headers={}, check=_any_answer, path="/")
            unlogged = ours(stack, no_audit) if full else None
            if unlogged is not None:
                unlogged.prime()
                warm_up(config, unlogged)
            runs: dict[str, list[Measurement]] = {"gateway": [], "ceiling": [], "no_audit": []}
            for _ in range(config.rounds):
                runs["gateway"].append(target.run(config.connections, config.duration_s))
                runs["ceiling"].append(roof.run(config.connections, config.duration_s))
                if unlogged is not None:
                    runs["no_audit"].append(unlogged.run(config.connections, config.duration_s))
            figure: dict[str, Any] = {
                "workers": workers,
                "summary_bytes": len(body),
                "warm": summary_of(runs["gateway"]),
                "ceiling": summary_of(runs["ceiling"]),
                "limit_ratio": round(mean_rps(runs["gateway"]) / mean_rps(runs["ceiling"]), 4),
            }
            if unlogged is not None:
                on, off = mean_rps(runs["gateway"]), mean_rps(runs["no_audit"])
                figure["audit"] = {
                    "on_rps": round(on, 1),
                    "off": summary_of(runs["no_audit"]),
                    "on_off_ratio": round(on / off, 4),
                    "cost": round(1 - on / off, 4),
                }
                long_run = target.run(config.connections, config.memory_duration_s)
                rss_after = gateway.rss_bytes()
                figure["memory"] = {
                    "duration_s": config.memory_duration_s,
                    "requests": long_run.load.requests,
                    "rss_after_warmup_mb": [round(b / MB, 1) for b in rss_warm],
                    "rss_after_run_mb": [round(b / MB, 1) for b in rss_after],
                    "growth_mb": [
                        round((a - b) / MB, 1) for a, b in zip(rss_after, rss_warm, strict=True)
                    ],
                    "long_run": long_run.to_json(),
                }
    return figure


AUDITED_VARIANT = Variant("postgres", "memory")
"""The variant whose access log is priced too (with the most workers), beside SQLite's figure 4:
the PostgreSQL log is what several gateway instances share."""


def warm_variant(
    stack: Stack, config: BenchConfig, variant: Variant, workers: int
) -> dict[str, Any]:
    """Warm cost of one access-log/cache variant; for ``AUDITED_VARIANT`` with the most
    workers, also its access log's cost (with and without the write, taking turns)."""
    priced = variant == AUDITED_VARIANT and workers == max(config.variant_workers or config.workers)
    gateway = stack.gateway(variant, workers, warm=True)
    no_audit = (
        stack.gateway(variant, workers, warm=True, factory="bench.no_audit:create_app")
        if priced
        else None
    )
    with started(gateway, *([no_audit] if no_audit is not None else [])):
        target = ours(stack, gateway)
        target.prime()
        warm_up(config, target)
        unlogged = ours(stack, no_audit) if no_audit is not None else None
        if unlogged is not None:
            unlogged.prime()
            warm_up(config, unlogged)
        runs: list[Measurement] = []
        off: list[Measurement] = []
        for _ in range(config.rounds):
            runs.append(target.run(config.connections, config.duration_s))
            if unlogged is not None:
                off.append(unlogged.run(config.connections, config.duration_s))
    figure: dict[str, Any] = {"variant": variant.label, "workers": workers, **summary_of(runs)}
    if off:
        on, without = mean_rps(runs), mean_rps(off)
        figure["audit"] = {
            "on_rps": round(on, 1),
            "off": summary_of(off),
            "on_off_ratio": round(on / without, 4),
            "cost": round(1 - on / without, 4),
        }
    return figure


def fanout(config: BenchConfig, target: Target) -> dict[str, Any]:
    """Cold summary p50 at one connection / the registries' latency, at each latency."""
    stack = target.stack
    rows: list[dict[str, Any]] = []
    try:
        for latency_ms in config.fanout_latencies_ms:
            stack.set_latency(latency_ms)
            run = target.run(1, config.fanout_duration_s)
            rows.append(
                {
                    "latency_ms": latency_ms,
                    "p50_ms": round(run.load.p50_ms, 2),
                    "ratio": round(run.load.p50_ms / latency_ms, 3),
                    "cpu_ms_per_request": round(run.cpu_ms_per_request, 3),
                    "registries_cpu_ms_per_request": round(run.registries_cpu_ms_per_request, 3),
                    "run": run.to_json(),
                }
            )
    finally:
        stack.set_latency(0)
    return {
        "workers": target.server.workers,
        "rows": rows,
        "worst_ratio": max(r["ratio"] for r in rows),
    }


def cold_against_peer(
    stack: Stack, config: BenchConfig, workers: int, supergraph: Any, *, with_fanout: bool
) -> dict[str, Any]:
    """Cold summaries (cache off, registries at 0 ms), ours and the peer's, taking turns.

    ``with_fanout``: measure the fan-out figure on the same gateway first (at one connection
    the number of workers does not matter).
    """
    gateway = stack.gateway(PRIMARY, workers, warm=False)
    peer = stack.peer(workers, supergraph) if supergraph is not None else None
    with started(gateway, *([peer] if peer is not None else [])):
        target = ours(stack, gateway)
        other = (
            Target(
                stack,
                peer,
                bodies=[peer_body(nin) for nin in PANEL],
                headers={},
                check=check_peer,
            )
            if peer is not None
            else None
        )
        # One pass of every summary first: the registries' memo then holds every search the
        # load sends (one process per registry, answers memoised), so the figures measure the
        # gateways, not the mocks searching and encoding.
        target.send_each()
        if other is not None:
            other.send_each()
        spread = fanout(config, target) if with_fanout else None
        warm_up(config, target)
        if other is not None:
            warm_up(config, other)
        runs: dict[str, list[Measurement]] = {"ours": [], "peer": []}
        for _ in range(config.rounds):
            runs["ours"].append(target.run(config.connections, config.duration_s))
            if other is not None:
                runs["peer"].append(other.run(config.connections, config.duration_s))
    figure: dict[str, Any] = {"workers": workers, "ours": summary_of(runs["ours"])}
    if spread is not None:
        figure["fanout"] = spread
    if runs["peer"]:
        figure["peer"] = summary_of(runs["peer"])
        figure["ours_over_peer"] = round(mean_rps(runs["ours"]) / mean_rps(runs["peer"]), 3)
    return figure


def run_all(stack: Stack, config: BenchConfig) -> dict[str, Any]:
    """Every figure, in an order that keeps at most three servers up at once."""
    results: dict[str, Any] = {"patient": BENCH_PATIENT, "panel_size": len(PANEL)}
    timings: dict[str, float] = {}
    with _timed(timings, "warm"):
        results["warm"] = [warm_primary(stack, config, workers) for workers in config.workers]
    missing = stack.missing_services()
    if missing:
        results["variants_skipped"] = missing
    with _timed(timings, "variants"):
        results["variants"] = [
            warm_variant(stack, config, variant, workers)
            for variant in config.variants
            if variant != PRIMARY and variant.audit not in missing and variant.cache not in missing
            for workers in config.variant_workers or config.workers
        ]
    supergraph = None
    if not config.peer:
        results["peer_skipped"] = "disabled (--no-peer)"
    elif not peer_installed():
        results["peer_skipped"] = "bench/peer/node_modules missing (`make bench` installs it)"
    else:
        with _timed(timings, "compose_peer"):
            supergraph = stack.compose_peer()
    with _timed(timings, "cold"):
        cold_workers = config.peer_workers or config.workers
        results["cold"] = [
            cold_against_peer(
                stack, config, workers, supergraph, with_fanout=workers == cold_workers[0]
            )
            for workers in cold_workers
        ]
    results["fanout"] = results["cold"][0].pop("fanout")
    results["phase_s"] = timings
    return results


@contextlib.contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        timings[name] = round(time.monotonic() - started, 1)
