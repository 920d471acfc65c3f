"""The run's figures against the targets, as JSON (``bench/results/<timestamp>.json``) and a
Markdown table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Verdict:
    """One target, what was measured for it, and whether it was met."""

    target: str
    measured: str
    met: bool | None  # None: not measured in this run

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the results file."""
        return {"target": self.target, "measured": self.measured, "met": self.met}


def _by_workers(rows: list[dict[str, Any]], workers: int) -> dict[str, Any] | None:
    return next((row for row in rows if row["workers"] == workers), None)


def verdicts(results: dict[str, Any]) -> list[Verdict]:
    """The issue's targets, judged at the most workers of the run (2 in the full run)."""
    most = max(row["workers"] for row in results["warm"])
    warm = _by_workers(results["warm"], most)
    cold = _by_workers(results["cold"], most)
    found: list[Verdict] = []
    if warm is not None:
        rps, p99 = warm["warm"]["rps"], warm["warm"]["p99_ms"]
        found.append(
            Verdict(
                f"warm ≥ 1,500 req/s and p99 ≤ 50 ms at 32 connections, {most} workers",
                f"{rps:,.0f} req/s, p99 {p99:.1f} ms",
                rps >= 1500 and p99 <= 50,
            )
        )
    if cold is not None:
        rps = cold["ours"]["rps"]
        found.append(
            Verdict(f"cold ≥ 1,000 req/s, {most} workers", f"{rps:,.0f} req/s", rps >= 1000)
        )
        ratio = cold.get("ours_over_peer")
        found.append(
            Verdict(
                f"≥ 2x the peer on the same cold work, {most} workers",
                "not measured" if ratio is None else f"{ratio:.2f}x",
                None if ratio is None else ratio >= 2,
            )
        )
    worst = results["fanout"]["worst_ratio"]
    found.append(
        Verdict("cold p50 at 1 connection ≤ 1.10 x slowest source", f"{worst:.2f}x", worst <= 1.10)
    )
    audit = warm.get("audit") if warm is not None else None
    if audit is not None:
        found.append(
            Verdict(
                "access log costs ≤ 5 % of throughput",
                f"{audit['cost'] * 100:.1f} %",
                audit["cost"] <= 0.05,
            )
        )
    return found


def markdown(results: dict[str, Any]) -> str:
    """The figures and targets as Markdown tables."""
    lines = [
        f"Patient `{results['patient']}` and {results['panel_size'] - 1} others of the same size "
        f"in turn; {results['connections']} connections unless stated; "
        f"{results['duration_s']:g} s a run, {results['rounds']} round(s). {_registries(results)}",
        "",
        "| figure | measured | ratio |",
        "|---|---|---|",
        *_fanout_rows(results),
        *_warm_rows(results),
        *_cold_rows(results),
        *_memory_rows(results),
    ]
    failed = sorted(_runs_with_errors(results))
    if failed:
        lines += ["", f"Runs with failed requests (their figures are suspect): {', '.join(failed)}"]
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for verdict in results["targets"]:
        met = {True: "pass", False: "FAIL", None: "n/a"}[verdict["met"]]
        lines.append(f"| {verdict['target']} | {verdict['measured']} | {met} |")
    return "\n".join(lines) + "\n"


def _registries(results: dict[str, Any]) -> str:
    registries = results.get("registries")
    if registries is None:  # a results file from before the registries were measured
        return ""
    memo = "answers memoised" if registries["memoised"] else "every answer computed afresh"
    return (
        f"Mock registries: {registries['processes']}, {memo}. CPU is per summary (per request): "
        "the server's own processes, then the mock registries'."
    )


def _cpu(figures: dict[str, Any], server: str = "gateway") -> str:
    """``gateway 3.51 + registries 0.20 ms CPU``: the server's CPU and the registries' apart."""
    cpu = f"{server} {figures['cpu_ms_per_request']:.2f}"
    registries = figures.get("registries_cpu_ms_per_request")
    if registries is not None:
        cpu += f" + registries {registries:.2f}"
    return cpu + " ms CPU"


def _fanout_rows(results: dict[str, Any]) -> list[str]:
    return [
        f"| 1. fan-out, sources at {row['latency_ms']} ms (cold, 1 connection) "
        f"| p50 {row['p50_ms']:.1f} ms ({_cpu(row['run'])}) | {row['ratio']:.2f}x slowest source |"
        for row in results["fanout"]["rows"]
    ]


def _warm_rows(results: dict[str, Any]) -> list[str]:
    lines = []
    for warm in results["warm"]:
        w, summary = warm["workers"], warm["warm"]
        lines.append(
            f"| 2. warm cost, {w} worker(s) | {summary['rps']:,.0f} req/s, "
            f"{_cpu(summary)}/req, p99 {summary['p99_ms']:.1f} ms "
            f"| |"
        )
    for variant in results["variants"]:
        lines.append(
            f"| 2. warm cost, {variant['variant']}, {variant['workers']} worker(s) "
            f"| {variant['rps']:,.0f} req/s, {_cpu(variant)}/req, "
            f"p99 {variant['p99_ms']:.1f} ms | |"
        )
    for service, why in results.get("variants_skipped", {}).items():
        lines.append(f"| 2. warm cost, {service} variants | skipped: {why} | |")
    for warm in results["warm"]:
        lines.append(
            f"| 3. limit ratio, {warm['workers']} worker(s) "
            f"| ceiling {warm['ceiling']['rps']:,.0f} req/s ({warm['summary_bytes']:,} B) "
            f"| {warm['limit_ratio']:.3f} |"
        )
    for warm in results["warm"]:
        audit = warm.get("audit")
        if audit is not None:
            lines.append(
                f"| 4. audit cost, {warm['workers']} worker(s) | on {audit['on_rps']:,.0f} / "
                f"off {audit['off']['rps']:,.0f} req/s | {audit['on_off_ratio']:.3f} "
                f"({audit['cost'] * 100:.1f} % cost) |"
            )
    return lines


def _memory_rows(results: dict[str, Any]) -> list[str]:
    return [
        f"| 6. memory, {warm['workers']} worker(s), {memory['duration_s']:g} s run "
        f"| RSS {memory['rss_after_warmup_mb']} → {memory['rss_after_run_mb']} MB "
        f"| growth {memory['growth_mb']} MB |"
        for warm in results["warm"]
        if (memory := warm.get("memory")) is not None
    ]


def _cold_rows(results: dict[str, Any]) -> list[str]:
    lines = []
    for cold in results["cold"]:
        ours = cold["ours"]
        measured = (
            f"ours {ours['rps']:,.0f} req/s ({_cpu(ours)}, "
            f"{ours['upstream_calls_per_request']:.1f} calls/req)"
        )
        if "peer" in cold:
            peer = cold["peer"]
            measured += (
                f", peer {peer['rps']:,.0f} req/s ({_cpu(peer, 'peer')}, "
                f"{peer['upstream_calls_per_request']:.1f} calls/req)"
            )
            ratio = f"{cold['ours_over_peer']:.2f}x (ours/peer)"
        else:
            ratio = f"peer skipped: {results.get('peer_skipped', '')}"
        lines.append(
            f"| 5. cold work vs peer, {cold['workers']} worker(s) | {measured} | {ratio} |"
        )
    return lines


def _runs_with_errors(node: Any) -> set[str]:
    """``server (n errors)`` for every run anywhere in the results that had failed requests."""
    found: set[str] = set()
    if isinstance(node, dict):
        if node.get("errors") and "server" in node:
            found.add(f"{node['server']} ({node['errors']} errors)")
        for value in node.values():
            found |= _runs_with_errors(value)
    elif isinstance(node, list):
        for value in node:
            found |= _runs_with_errors(value)
    return found
