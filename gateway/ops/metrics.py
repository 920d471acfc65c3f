"""Prometheus metrics: what the gateway counts, and ``/metrics``.

Counted once per request, per upstream search, per cache lookup and per access-log commit, never
per GraphQL field: the summary path serves well over a thousand requests a second, so every hot
call site holds a child already bound to its labels (``.labels()`` runs once, at start or the
first time an operation name is seen).

No label holds patient data. Sources, outcomes and error codes come from fixed sets; operation
names come from clients, so only names that look like GraphQL names and hold no identity
number (``gateway/ops/masking.py``), and at most ``MAX_OPERATIONS`` of them, get a label of their
own (with trusted documents: only the names in the registered documents); every other name is
``other``.

Several workers (``summary-gateway serve --workers N``) share one metrics directory
(``PROMETHEUS_MULTIPROC_DIR``, made empty by the parent before the workers start); ``/metrics``
in any worker then answers for all of them, and a worker that stops marks itself dead so its
live gauges go with it.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from gateway.ops.masking import holds_identity_number
from gateway.settings import GraphQLSettings
from gateway.upstream.breaker import CircuitState

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATIONS: Final = 200
OTHER: Final = "other"
ANONYMOUS: Final = "anonymous"
_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")

DENIAL_CODES: Final = frozenset(
    {"UNAUTHENTICATED", "FORBIDDEN", "RESTRICTED", "BLOCKED", "RESERVED"}
)
"""The codes counted in ``gateway_denied_total``: a caller refused, or a section withheld."""

SOURCE_OUTCOMES: Final = (
    "ok",
    "SOURCE_UNAVAILABLE",
    "SOURCE_TIMEOUT",
    "SOURCE_BAD_RESPONSE",
    "SOURCE_WRONG_PATIENT",
    "SOURCE_FILTER_IGNORED",
    "SOURCE_AMBIGUOUS_PATIENT",
    "SOURCE_AUTH_FAILED",
    "SOURCE_CIRCUIT_OPEN",
    "SOURCE_BUSY",
    "cancelled",
)
_BREAKER_VALUE = {CircuitState.CLOSED: 0.0, CircuitState.HALF_OPEN: 1.0, CircuitState.OPEN: 2.0}

# Seconds. A summary takes a few ms from the cache and up to the deadline (10 s) at worst.
_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def multiprocess_dir() -> str | None:
    """The shared metrics directory when several workers run, else None."""
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(configured: str | None = None) -> Path:
    """Make the workers' shared metrics directory, without earlier runs' values (they would be
    added to this run's counts), and name it in the environment the workers inherit. Only the
    metric files (``*.db``) are removed from a configured directory, nothing else in it."""
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    else:
        path = Path(tempfile.mkdtemp(prefix="summary-gateway-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def operation_label(name: str | None) -> str:
    """A client's operation name if it looks like a GraphQL name and holds no identity number,
    else ``other``."""
    if name is None:
        return ANONYMOUS
    if _GRAPHQL_NAME.fullmatch(name) and not holds_identity_number(name):
        return name
    return OTHER


class SourceMetrics:
    """One source's metric children, bound once: what ``gateway/upstream/guard.py`` reports to."""

    __slots__ = (
        "_batch_entries",
        "_batches",
        "_breaker",
        "_calls",
        "_latency",
        "_state",
        "hit",
        "miss",
        "stale",
    )

    def __init__(self, metrics: GatewayMetrics, source: str) -> None:
        lookups = metrics.cache_lookups
        self.hit = lookups.labels(source, "hit")
        self.miss = lookups.labels(source, "miss")
        self.stale = lookups.labels(source, "stale")
        self._calls = {o: metrics.upstream_calls.labels(source, o) for o in SOURCE_OUTCOMES}
        self._latency = metrics.upstream_seconds.labels(source)
        self._breaker = metrics.breaker_state.labels(source)
        self._batches = metrics.upstream_batches.labels(source)
        self._batch_entries = metrics.upstream_batch_entries.labels(source)
        self._state: CircuitState | None = None
        self.breaker(CircuitState.CLOSED)

    def called(self, outcome: str, seconds: float | None, state: CircuitState) -> None:
        """One search went to the source (or was refused by its guard: ``seconds`` None)."""
        self._calls.get(outcome, self._calls["SOURCE_UNAVAILABLE"]).inc()
        if seconds is not None:
            self._latency.observe(seconds)
        if state is not self._state:
            self.breaker(state)

    def batched(self, entries: int) -> None:
        """One FHIR batch carrying ``entries`` searches went to the source."""
        self._batches.inc()
        self._batch_entries.inc(entries)

    def breaker(self, state: CircuitState) -> None:
        """The source's breaker as this process sees it now (set when it changed; ``/readyz``
        refreshes it, as OPEN turns HALF_OPEN with time alone)."""
        self._state = state
        self._breaker.set(_BREAKER_VALUE[state])


class SharedCacheMetrics:
    """The shared cache's (Redis) children: what ``gateway/upstream/cache/redis_guard.py``
    reports to."""

    __slots__ = ("_error", "_last", "_ok", "_skipped", "_state")

    def __init__(self, metrics: GatewayMetrics) -> None:
        self._ok = metrics.shared_cache_round_trips.labels("ok")
        self._error = metrics.shared_cache_round_trips.labels("error")
        self._skipped = metrics.shared_cache_skipped
        self._state = metrics.shared_cache_state
        self._last: CircuitState | None = None
        self.state(CircuitState.CLOSED)

    def round_trip(self, ok: bool, state: CircuitState) -> None:
        """One round trip to Redis ended; ``state`` is the breaker's after it."""
        (self._ok if ok else self._error).inc()
        if state is not self._last:
            self.state(state)

    def skipped(self) -> None:
        """A read or write did not go to Redis: its breaker is open."""
        self._skipped.inc()

    def state(self, state: CircuitState) -> None:
        """The breaker as this process sees it now."""
        self._last = state
        self._state.set(_BREAKER_VALUE[state])


class AuditMetrics:
    """The access-log writer's commits: how long, how many events, how many failed."""

    __slots__ = ("_batch", "_failed", "_seconds")

    def __init__(self, metrics: GatewayMetrics) -> None:
        self._seconds = metrics.audit_write_seconds
        self._batch = metrics.audit_batch_events
        self._failed = metrics.audit_write_failures

    def committed(self, events: int, seconds: float, ok: bool) -> None:
        """One commit of ``events`` took ``seconds``."""
        self._seconds.observe(seconds)
        self._batch.observe(events)
        if not ok:
            self._failed.inc()


class _Operation:
    """One operation label's children; an outcome's counter is bound the first time it ends so."""

    __slots__ = ("_requests", "label", "latency", "outcomes")

    def __init__(self, metrics: GatewayMetrics, label: str) -> None:
        self.label = label
        self.latency = metrics.request_seconds.labels(label)
        self._requests = metrics.requests
        self.outcomes: dict[str, Counter] = {}

    def ended(self, outcome: str, seconds: float) -> None:
        self.latency.observe(seconds)
        counter = self.outcomes.get(outcome)
        if counter is None:
            counter = self.outcomes[outcome] = self._requests.labels(self.label, outcome)
        counter.inc()


class WithoutCreated(Collector):
    """``source``'s metrics without their ``_created`` series: they double the output and no
    dashboard reads them. prometheus-client's own switch (``disable_created_metrics``) is
    process-wide, so flipping it for one app would change every other registry in the process
    (a test's, a library's); dropping the series at exposition keeps the choice to this app."""

    def __init__(self, source: Collector) -> None:
        self._source = source

    def collect(self) -> Iterable[Metric]:
        for metric in self._source.collect():
            created = f"{metric.name}_created"
            trimmed = copy.copy(metric)
            trimmed.samples = [s for s in metric.samples if s.name != created]
            yield trimmed


class GatewayMetrics:
    """Every metric of one app. In one process each app has a registry of its own; with several
    workers the values live in the shared directory and ``/metrics`` reads them all."""

    def __init__(self, known_operations: Iterable[str] | None = None) -> None:
        self.multiprocess = multiprocess_dir() is not None
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "gateway_requests",
            "GraphQL requests by operation name and outcome.",
            ["operation", "outcome"],
            registry=reg,
        )
        self.request_seconds = Histogram(
            "gateway_request_duration_seconds",
            "Time from a request's arrival to its answer, by operation name.",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.upstream_calls = Counter(
            "gateway_upstream_calls",
            "Searches sent to a source (all pages and retries of one search count once), by "
            "outcome: ok or the error code.",
            ["source", "outcome"],
            registry=reg,
        )
        self.upstream_seconds = Histogram(
            "gateway_upstream_call_duration_seconds",
            "Time of one search at a source, pages and retries included.",
            ["source"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.upstream_batches = Counter(
            "gateway_upstream_batches",
            "FHIR batch exchanges sent to a source (gateway/upstream/batch.py); their searches "
            "also count in gateway_upstream_calls.",
            ["source"],
            registry=reg,
        )
        self.upstream_batch_entries = Counter(
            "gateway_upstream_batch_entries",
            "Searches sent inside FHIR batches.",
            ["source"],
            registry=reg,
        )
        self.cache_lookups = Counter(
            "gateway_cache_lookups",
            "Cache lookups by source and result: hit (fresh), miss, stale (served after a "
            "failure).",
            ["source", "result"],
            registry=reg,
        )
        self.breaker_state = Gauge(
            "gateway_breaker_state",
            "Circuit breaker per source: 0 closed, 1 half-open, 2 open (the worst worker).",
            ["source"],
            multiprocess_mode="livemax",
            registry=reg,
        )
        self.shared_cache_round_trips = Counter(
            "gateway_shared_cache_round_trips",
            "Round trips to the shared cache (Redis), by outcome: ok or error.",
            ["outcome"],
            registry=reg,
        )
        self.shared_cache_skipped = Counter(
            "gateway_shared_cache_skipped",
            "Cache reads and writes that skipped Redis because its breaker was open.",
            registry=reg,
        )
        self.shared_cache_state = Gauge(
            "gateway_shared_cache_state",
            "The shared cache's breaker: 0 closed, 1 half-open, 2 open (the worst worker).",
            multiprocess_mode="livemax",
            registry=reg,
        )
        self.audit_write_seconds = Histogram(
            "gateway_audit_write_duration_seconds",
            "Time of one access-log commit (a group of requests).",
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.audit_batch_events = Histogram(
            "gateway_audit_batch_events",
            "Events written in one access-log commit.",
            buckets=_BATCH_BUCKETS,
            registry=reg,
        )
        self.audit_write_failures = Counter(
            "gateway_audit_write_failures",
            "Access-log commits that failed (their requests got AUDIT_UNAVAILABLE).",
            registry=reg,
        )
        self.denied = Counter(
            "gateway_denied",
            "Accesses refused (401) or sections withheld, by code.",
            ["code"],
            registry=reg,
        )
        self.execution_fallbacks = Counter(
            "gateway_execution_fallbacks",
            "Completion plans that gave way to graphql-core's general path, by reason: "
            "value_not_plain (the data) or plan_raised (a broken plan: a bug).",
            ["reason"],
            registry=reg,
        )
        self.audit = AuditMetrics(self)
        self._denied = {code: self.denied.labels(code) for code in DENIAL_CODES}
        self._known = frozenset(known_operations) if known_operations is not None else None
        self._operations: dict[str | None, _Operation] = {}
        self._other = _Operation(self, OTHER)

    def source(self, name: str) -> SourceMetrics:
        """The bound children of one source."""
        return SourceMetrics(self, name)

    def shared_cache(self) -> SharedCacheMetrics:
        """The bound children of the shared cache (Redis)."""
        return SharedCacheMetrics(self)

    def operation_label(self, name: str | None) -> str:
        """The label an operation name gets (see the module docstring)."""
        if self._known is not None and name is not None:
            return operation_label(name) if name in self._known else OTHER
        return operation_label(name)

    def request(self, operation: str | None, outcome: str, seconds: float) -> None:
        """One request ended."""
        op = self._operations.get(operation)
        if op is None:
            op = self._bind(operation)
        op.ended(outcome, seconds)

    def _bind(self, operation: str | None) -> _Operation:
        label = self.operation_label(operation)
        if label == OTHER or len(self._operations) >= MAX_OPERATIONS:
            return self._other
        op = self._operations[operation] = _Operation(self, label)
        return op

    def denied_code(self, code: str) -> None:
        """One denial (``code`` in ``DENIAL_CODES``; anything else is ignored)."""
        child = self._denied.get(code)
        if child is not None:
            child.inc()

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes: this process, or every worker."""
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(WithoutCreated(registry))
        return generate_latest(WithoutCreated(self.registry))

    def worker_stopped(self) -> None:
        """A worker is going away: its live gauges must stop counting."""
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def known_operation_names(graphql: GraphQLSettings) -> frozenset[str] | None:
    """With trusted documents only, the operation names they define: the only names that get a
    label of their own. Otherwise None (any GraphQL-shaped name, up to ``MAX_OPERATIONS``)."""
    if graphql.persisted_queries != "trusted" or graphql.trusted_documents_dir is None:
        return None
    from graphql import GraphQLSyntaxError, OperationDefinitionNode, parse

    from gateway.graphql.persisted import load_documents

    names: set[str] = set()
    for text in load_documents(graphql.trusted_documents_dir).values():
        try:
            definitions = parse(text).definitions
        except GraphQLSyntaxError:
            # Not this function's to report: the app's start check names the file and stops.
            continue
        for definition in definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name is not None:
                names.add(definition.name.value)
    return frozenset(names)
