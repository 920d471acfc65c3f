"""OpenTelemetry tracing: off by default (no header goes upstream); on, every upstream request
carries a valid W3C ``traceparent`` of the request's trace, and spans name no patient."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from gateway.settings import OperationsSettings, Settings
from mocks.fixtures import FIXTURES
from mocks.runner import MockRegistries
from resolvers.examples import summary_query
from tests.conftest import serve, served, settings_for

# W3C Trace Context: version, trace id, parent (span) id, flags (01 sampled; 02 is level 2's
# "random trace id" flag, which OTel sets).
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[0-3]$")
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


class HeaderRecorder:
    """A FHIR server that knows nobody (every search: an empty Bundle) and notes each request's
    ``traceparent`` header (None when absent)."""

    def __init__(self) -> None:
        self.seen: list[str | None] = []

    def app(self) -> web.Application:
        async def search(request: web.Request) -> web.Response:
            self.seen.append(request.headers.get("traceparent"))
            return web.json_response({"resourceType": "Bundle", "type": "searchset", "entry": []})

        app = web.Application()
        app.router.add_get("/{tail:.*}", search)
        return app


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[HeaderRecorder, str]]:
    recorder = HeaderRecorder()
    async with served(recorder.app()) as url:
        yield recorder, url


def _settings(registries: MockRegistries, url: str, tracing: str | None) -> Settings:
    settings = settings_for(registries).with_source_urls(
        {name: url for name, _ in settings_for(registries).sources.items()}
    )
    if tracing is None:
        return settings
    return settings.model_copy(update={"ops": OperationsSettings(tracing=tracing)})


async def test_no_traceparent_goes_upstream_when_tracing_is_off(
    registries: MockRegistries, recorder: tuple[HeaderRecorder, str]
) -> None:
    seen, url = recorder
    async with serve(_settings(registries, url, None)) as server:
        await server.graphql(summary_query(), {"nin": FIXTURES[0].nin})
    assert seen.seen, "the source was asked"
    assert seen.seen == [None] * len(seen.seen)


async def test_every_upstream_request_carries_the_requests_trace_when_tracing_is_on(
    registries: MockRegistries,
    recorder: tuple[HeaderRecorder, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen, url = recorder
    nin = FIXTURES[0].nin
    async with serve(_settings(registries, url, "console")) as server:
        seen.seen.clear()  # (the CapabilityStatements read at start, each a trace of its own)
        await server.graphql(summary_query(), {"nin": nin})
        own = list(seen.seen)
        seen.seen.clear()
        caller = {"traceparent": f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"}
        await server.graphql(summary_query(), {"nin": nin}, headers=caller)
        continued = list(seen.seen)

    assert own and continued
    parsed = [TRACEPARENT.match(header or "") for header in own]
    assert all(parsed), own
    traces = {match.group(1) for match in parsed if match}
    assert len(traces) == 1, "one request, one trace"
    assert len({match.group(2) for match in parsed if match}) == len(own), "a span per call"
    assert {TRACEPARENT.match(h or "").group(1) for h in continued} == {CALLER_TRACE}  # type: ignore[union-attr]

    spans = capsys.readouterr().out
    assert '"name": "graphql PatientSummary"' in spans
    assert '"name": "GET core_record"' in spans
    assert nin not in spans, "no identity number in a span (the URL is never recorded)"
