"""OpenTelemetry tracing, off unless ``ops.tracing`` says otherwise.

When on: one server span per GraphQL request (continuing the caller's ``traceparent`` if it
sent one) and one client span per HTTP request to a source, whose W3C ``traceparent`` header
goes to the source, so a registry's own traces join the gateway's. When off, nothing of this
module runs on a request: the app builds no ``Tracing`` and the HTTP session gets no trace hook.

Spans carry no patient data: a caller's trace context that holds an identity number is not
continued, the span's name and request id are the masked ones (``gateway/ops/masking.py``), and
the URL of a search holds the identity number, so a client span records the source's name,
method, host and status, never the URL; a failure is recorded as its exception type, never its
message. The tracer provider is the app's own (not OTel's global
one), so several apps in one process (the tests) keep their spans apart.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from urllib.parse import urlsplit

import aiohttp
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gateway.ops.masking import holds_identity_number, holds_valid_identity_number
from gateway.settings import Settings

_PROPAGATOR = TraceContextTextMapPropagator()
TRACE_CONTEXT_HEADERS: tuple[str, ...] = tuple(sorted(_PROPAGATOR.fields))
"""The W3C trace-context headers a caller sends to have its trace continued (``traceparent``,
``tracestate``): a browser app on an allowed origin needs CORS to let them through."""


class Tracing:
    """The app's tracer, its exporter, and the hooks that make spans."""

    def __init__(self, settings: Settings, exporter: SpanExporter | None = None) -> None:
        ops = settings.ops
        self._provider = TracerProvider(
            resource=Resource.create({"service.name": ops.service_name})
        )
        if exporter is not None:
            self._provider.add_span_processor(SimpleSpanProcessor(exporter))
        elif ops.tracing == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            self._provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=ops.otlp_endpoint))
            )
        else:
            # Bound to stdout now (its default was bound when OTel was imported).
            console = ConsoleSpanExporter(out=sys.stdout)
            self._provider.add_span_processor(SimpleSpanProcessor(console))
        self.tracer = self._provider.get_tracer("summary-gateway")
        # Which source an upstream URL belongs to, by origin: named in spans instead of the URL.
        self._sources = {
            _origin(source.base_url): name
            for name, source in settings.sources.items()
            if source.base_url is not None
        }

    @contextlib.contextmanager
    def request_span(self, method: str, headers: Mapping[str, str]) -> Iterator[Span]:
        """The server span of one request, current while it runs (its searches' parent)."""
        parent = _PROPAGATOR.extract(_trace_context(headers))
        with self.tracer.start_as_current_span(
            f"{method} /graphql", context=parent, kind=SpanKind.SERVER
        ) as span:
            yield span

    def trace_config(self) -> aiohttp.TraceConfig:
        """aiohttp hooks: a client span per upstream HTTP request, its ``traceparent`` sent."""
        config = aiohttp.TraceConfig()
        config.on_request_start.append(self._on_request_start)
        config.on_request_end.append(self._on_request_end)
        config.on_request_exception.append(self._on_request_exception)
        return config

    async def _on_request_start(
        self,
        _session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        url = params.url
        source = self._sources.get((url.scheme, url.host or "", url.port), "other")
        span = self.tracer.start_span(
            f"{params.method} {source}",
            kind=SpanKind.CLIENT,
            attributes={
                "gateway.source": source,
                "http.request.method": params.method,
                "server.address": url.host or "",
                "server.port": url.port or 0,
            },
        )
        _PROPAGATOR.inject(params.headers, context=trace.set_span_in_context(span))
        ctx.span = span

    async def _on_request_end(
        self,
        _session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        span: Span | None = getattr(ctx, "span", None)
        if span is not None:
            status = params.response.status
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
            span.end()

    async def _on_request_exception(
        self,
        _session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        span: Span | None = getattr(ctx, "span", None)
        if span is not None:
            # The type only: an exception's message may quote the URL.
            span.set_status(Status(StatusCode.ERROR, type(params.exception).__name__))
            span.end()

    def shutdown(self) -> None:
        """Export what is buffered, then stop."""
        self._provider.shutdown()


def _trace_context(headers: Mapping[str, str]) -> dict[str, str]:
    """The caller's W3C trace context, unless it holds an identity number (it would be printed
    in every span of the trace): then none, and the request starts a trace of its own."""
    parent = headers.get("traceparent")
    if parent is None or holds_valid_identity_number(parent):
        return {}
    context = {"traceparent": parent}
    state = headers.get("tracestate")
    # Free text: any run of 11 digits drops it (the trace itself goes on).
    if state is not None and not holds_identity_number(state):
        context["tracestate"] = state
    return context


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.scheme, parts.hostname or "", port)
