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
    """Issue 17's targets, judged at the most workers of the run (2 in the full run), each a
    ratio of runs made side by side where a peer or a baseline is involved."""
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
        ours, peer = cold["ours"], cold.get("peer")
        found.append(
            Verdict(
                f"gateway CPU per cold summary ≤ half the peer's, {most} workers",
                "peer not measured"
                if peer is None
                else f"{ours['cpu_ms_per_request']:.2f} vs peer {peer['cpu_ms_per_request']:.2f}"
                f" ms ({ours['cpu_ms_per_request'] / peer['cpu_ms_per_request']:.2f}x)",
                None
                if peer is None
                else ours["cpu_ms_per_request"] <= 0.5 * peer["cpu_ms_per_request"],
            )
        )
        ratio = cold.get("ours_over_peer")
        found.append(
            Verdict(
                f"cold throughput ≥ 2x the peer's, {most} workers",
                "peer not measured" if ratio is None else f"{ratio:.2f}x",
                None if ratio is None else ratio >= 2,
            )
        )
    worst = results["fanout"]["worst_ratio"]
    found.append(
        Verdict(
            "cold p50 at 1 connection ≤ 2.1 x the slowest source (20, 50, 100 ms)",
            f"worst {worst:.2f}x",
            worst <= 2.1,
        )
    )
    costs = _audit_costs(results, most)
    if costs:
        found.append(
            Verdict(
                f"access log ≤ 5 % of warm throughput, {most} workers",
                ", ".join(f"{store} {cost * 100:.1f} %" for store, cost in costs.items()),
                all(cost <= 0.05 for cost in costs.values()),
            )
        )
    return found


def _audit_costs(results: dict[str, Any], workers: int) -> dict[str, float]:
    """The access log's cost by store: SQLite (figure 4) and PostgreSQL (its variant's pair)."""
    costs: dict[str, float] = {}
    warm = _by_workers(results["warm"], workers)
    if warm is not None and warm.get("audit") is not None:
        costs["SQLite"] = warm["audit"]["cost"]
    for variant in results.get("variants", []):
        audit = variant.get("audit")
        if audit is not None and variant["workers"] == workers:
            costs["PostgreSQL"] = audit["cost"]
    return costs


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
    audited = [("sqlite+memory", warm) for warm in results["warm"]]
    audited += [(variant["variant"], variant) for variant in results["variants"]]
    for label, figure in audited:
        audit = figure.get("audit")
        if audit is not None:
            lines.append(
                f"| 4. audit cost, {label}, {figure['workers']} worker(s) "
                f"| on {audit['on_rps']:,.0f} / off {audit['off']['rps']:,.0f} req/s "
                f"| {audit['on_off_ratio']:.3f} ({audit['cost'] * 100:.1f} % cost) |"
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
        measured = f"ours {ours['rps']:,.0f} req/s ({_cpu(ours)}, {_calls(ours)})"
        if "peer" in cold:
            peer = cold["peer"]
            measured += f", peer {peer['rps']:,.0f} req/s ({_cpu(peer, 'peer')}, {_calls(peer)})"
            ratio = f"{cold['ours_over_peer']:.2f}x (ours/peer)"
        else:
            ratio = f"peer skipped: {results.get('peer_skipped', '')}"
        lines.append(
            f"| 5. cold work vs peer, {cold['workers']} worker(s) | {measured} | {ratio} |"
        )
    return lines


def _calls(figures: dict[str, Any]) -> str:
    """``6.8 exchanges (15.0 searches)/req``: HTTP exchanges, and the searches they carried."""
    exchanges = figures["upstream_calls_per_request"]
    searches = figures.get("searches_per_request")
    if searches is None:  # a results file from before batches were counted apart
        return f"{exchanges:.1f} calls/req"
    return f"{exchanges:.1f} exchanges ({searches:.1f} searches)/req"


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
