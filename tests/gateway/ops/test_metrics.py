"""Metric labels stay few and free of patient data, whatever names clients send."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, generate_latest

from gateway.ops.metrics import MAX_OPERATIONS, GatewayMetrics, operation_label
from gateway.upstream.breaker import CircuitState


def test_operation_label_keeps_graphql_names_and_calls_anything_else_other() -> None:
    assert operation_label(None) == "anonymous"
    assert operation_label("PatientSummary") == "PatientSummary"
    assert operation_label("12834122055") == "other"
    assert operation_label("Astrid Haugen") == "other"
    assert operation_label("x" * 65) == "other"


def test_with_trusted_documents_only_their_operation_names_are_labels() -> None:
    metrics = GatewayMetrics(known_operations={"PatientSummary"})
    assert metrics.operation_label("PatientSummary") == "PatientSummary"
    assert metrics.operation_label("Astrid") == "other"


def test_distinct_operation_names_are_capped() -> None:
    metrics = GatewayMetrics()
    for i in range(MAX_OPERATIONS + 50):
        metrics.request(f"Operation{i}", "ok", 0.01)
    text = metrics.exposition().decode()
    labels = set(re.findall(r'gateway_requests_total\{operation="([^"]+)"', text))
    assert len(labels) == MAX_OPERATIONS + 1
    assert 'gateway_requests_total{operation="other",outcome="ok"} 50.0' in text


def test_source_and_audit_metrics_are_counted_with_bound_children() -> None:
    metrics = GatewayMetrics()
    source = metrics.source("prescriptions")
    source.hit.inc()
    source.called("SOURCE_TIMEOUT", 0.2, CircuitState.OPEN)
    source.called("something new", None, CircuitState.CLOSED)  # an unknown code: unavailable
    metrics.audit.committed(12, 0.004, ok=True)
    metrics.denied_code("FORBIDDEN")
    metrics.denied_code("SOURCE_TIMEOUT")  # not a denial: ignored
    text = metrics.exposition().decode()
    assert 'gateway_cache_lookups_total{result="hit",source="prescriptions"} 1.0' in text
    assert 'gateway_upstream_calls_total{outcome="SOURCE_TIMEOUT",source="prescriptions"} 1.0' in (
        text
    )
    assert (
        'gateway_upstream_calls_total{outcome="SOURCE_UNAVAILABLE",source="prescriptions"} 1.0'
        in text
    )
    assert 'gateway_breaker_state{source="prescriptions"} 0.0' in text
    assert "gateway_audit_batch_events_sum 12.0" in text
    assert 'gateway_denied_total{code="FORBIDDEN"} 1.0' in text
    assert 'code="SOURCE_TIMEOUT"' not in text


def test_created_series_are_left_out_of_this_app_only() -> None:
    metrics = GatewayMetrics()
    metrics.request("PatientSummary", "ok", 0.01)
    metrics.audit.committed(3, 0.002, ok=True)
    text = metrics.exposition().decode()
    assert 'gateway_requests_total{operation="PatientSummary",outcome="ok"} 1.0' in text
    assert "gateway_audit_write_duration_seconds_count 1.0" in text
    assert "_created" not in text
    # Another registry in the same process still has its ``_created`` series: making the
    # gateway's metrics flipped no prometheus-client global.
    other = CollectorRegistry()
    Counter("other_events", "Events of another part of the process.", registry=other).inc()
    assert "other_events_created" in generate_latest(other).decode()
