"""What operators scrape and probe, through the real app: /metrics, /readyz, /healthz."""

from __future__ import annotations

import re

import aiohttp
from pydantic import SecretStr

from gateway.settings import AuditSettings, OperationsSettings
from mocks.faults import Fault, FaultKind
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.examples import summary_query
from tests.audit_support import TcpProxy, drop_schema, new_schema, require_postgres
from tests.conftest import GatewayServer, serve, settings_for

PATIENT = fixture("home-care-elderly").nin


async def _metrics(server: GatewayServer, headers: dict[str, str] | None = None) -> str:
    async with server.anonymous.get(f"{server.url}/metrics", headers=headers) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/plain")
        return await response.text()


def _value(text: str, name: str, **labels: str) -> float:
    """One sample's value (0 when absent); ``labels`` must match exactly."""
    for line in text.splitlines():
        match = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if found == labels:
            return float(match.group(2))
    return 0.0


async def test_metrics_count_requests_upstream_calls_denials_and_access_log_commits(
    registries: MockRegistries,
) -> None:
    async with serve(settings_for(registries)) as server:
        ok = await server.graphql(summary_query(), {"nin": PATIENT})
        assert ok.get("errors") is None
        await registries.set_fault(Source.PRESCRIPTIONS, Fault(FaultKind.HTTP_500))
        partial = await server.graphql(summary_query(), {"nin": PATIENT})
        assert partial["data"]["patient"] is not None and partial["errors"]
        await registries.clear_fault()
        # A pharmacist is not shown the visit history: withheld, counted as FORBIDDEN.
        await server.graphql(summary_query(), {"nin": PATIENT}, persona="pharmacist")
        await server.graphql(summary_query(), {"nin": PATIENT}, persona=None)
        text = await _metrics(server)

    summary = "PatientSummary"
    assert _value(text, "gateway_requests_total", operation=summary, outcome="ok") == 1
    assert _value(text, "gateway_requests_total", operation=summary, outcome="partial") == 2
    # Refused before its document was read: no operation name is known.
    assert (
        _value(text, "gateway_requests_total", operation="anonymous", outcome="unauthenticated")
        == 1
    )
    assert _value(text, "gateway_request_duration_seconds_count", operation=summary) == 3
    assert _value(text, "gateway_denied_total", code="UNAUTHENTICATED") == 1
    assert _value(text, "gateway_denied_total", code="FORBIDDEN") >= 1
    assert _value(text, "gateway_upstream_calls_total", source="prescriptions", outcome="ok") >= 1
    failed = _value(
        text, "gateway_upstream_calls_total", source="prescriptions", outcome="SOURCE_UNAVAILABLE"
    )
    assert failed >= 1
    assert _value(text, "gateway_upstream_call_duration_seconds_count", source="core_record") >= 3
    # The tests' settings cache nothing: every cacheable lookup is a miss.
    assert _value(text, "gateway_cache_lookups_total", source="core_record", result="miss") >= 3
    assert _value(text, "gateway_cache_lookups_total", source="core_record", result="hit") == 0
    assert _value(text, "gateway_breaker_state", source="prescriptions") == 0
    assert _value(text, "gateway_audit_batch_events_count") >= 3, "one commit per summary, or fewer"
    assert _value(text, "gateway_audit_batch_events_sum") >= 3
    assert _value(text, "gateway_audit_write_duration_seconds_count") >= 1
    assert PATIENT not in text


async def test_operation_names_that_could_hold_patient_data_are_counted_as_other(
    gateway: GatewayServer,
) -> None:
    for name in ("12834122055", "Astrid Haugen", "x" * 200):
        async with gateway.session.post(
            f"{gateway.url}/graphql",
            json={"query": summary_query(), "variables": {"nin": PATIENT}, "operationName": name},
        ) as response:
            assert response.status in (200, 400)
    text = await _metrics(gateway)
    assert "12834122055" not in text and "Astrid" not in text and "x" * 65 not in text
    assert 'operation="other"' in text


async def test_metrics_need_the_configured_token(registries: MockRegistries) -> None:
    ops = OperationsSettings(metrics_token=SecretStr("scrape-secret"))
    settings = settings_for(registries).model_copy(update={"ops": ops})
    async with serve(settings) as server:
        async with server.anonymous.get(f"{server.url}/metrics") as response:
            assert response.status == 401
        wrong = {"Authorization": "Bearer guess"}
        async with server.anonymous.get(f"{server.url}/metrics", headers=wrong) as response:
            assert response.status == 401
        text = await _metrics(server, {"Authorization": "Bearer scrape-secret"})
        assert "# TYPE gateway_requests_total counter" in text


async def test_metrics_can_be_turned_off(registries: MockRegistries) -> None:
    settings = settings_for(registries).model_copy(
        update={"ops": OperationsSettings(metrics=False)}
    )
    async with (
        serve(settings) as server,
        server.anonymous.get(f"{server.url}/metrics") as response,
    ):
        assert response.status == 404


async def test_healthz_answers_without_a_token(gateway: GatewayServer) -> None:
    async with gateway.anonymous.get(f"{gateway.url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


async def test_readyz_is_unready_while_the_access_log_database_is_unreachable_but_not_for_a_source(
    registries: MockRegistries,
) -> None:
    dsn = await require_postgres()
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    schema = new_schema()
    via_proxy = dsn.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    audit = AuditSettings.model_validate(
        {"postgres_dsn": via_proxy, "postgres_schema": schema, "write_timeout_s": 1.0}
    )
    settings = settings_for(registries).model_copy(update={"audit": audit})
    try:
        async with serve(settings) as server, aiohttp.ClientSession() as probe:
            await registries.set_fault(Source.LAB_RESULTS, Fault(FaultKind.CONNECTION_REFUSED))
            async with probe.get(f"{server.url}/readyz") as response:
                body = await response.json()
                assert response.status == 200, "a registry down does not make the gateway unready"
                assert body["status"] == "ready" and body["accessLog"] == "ok"
                assert {s["source"] for s in body["sources"]} == {s.value for s in Source}
            await proxy.cut()  # the network to the database is gone
            async with probe.get(f"{server.url}/readyz") as response:
                body = await response.json()
                assert response.status == 503
                assert body["status"] == "unready" and body["accessLog"] == "unavailable"
    finally:
        await proxy.cut()
        await drop_schema(dsn, schema)
