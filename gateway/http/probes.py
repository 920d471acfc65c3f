"""The operators' routes: ``/healthz`` (alive), ``/readyz`` (can serve), ``/metrics``."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.audit.store import AuditUnavailable
from gateway.audit.writer import AuditWriter
from gateway.ops.metrics import GatewayMetrics
from gateway.settings import Settings
from gateway.upstream.guard import health_json

if TYPE_CHECKING:
    from resolvers.clients import SourceClients

PING_TIMEOUT_S = 2.0


async def access_log_state(writer: AuditWriter) -> Literal["ok", "writer stopped", "unavailable"]:
    """``ok`` when requests can be logged now: the writer runs and the store answers in time."""
    if not writer.running:
        return "writer stopped"
    try:
        await asyncio.wait_for(writer.store.ping(), PING_TIMEOUT_S)
    except (AuditUnavailable, TimeoutError, OSError):
        return "unavailable"
    return "ok"


def metrics_route(
    metrics: GatewayMetrics, token: str | None
) -> Callable[[Request], Awaitable[Response]]:
    """The ``/metrics`` handler: open, or only for ``Authorization: Bearer <token>``."""
    expected = f"Bearer {token}".encode() if token else None

    async def serve_metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return Response(
                    "metrics need a bearer token\n",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return serve_metrics


async def healthz(_request: Request) -> Response:
    """The process is alive and its event loop turns."""
    return JSONResponse({"status": "ok"})


def operations_routes(settings: Settings, metrics: GatewayMetrics) -> list[Route]:
    """``/healthz``, ``/readyz`` and (unless turned off) ``/metrics``."""

    async def readyz(request: Request) -> Response:
        # Ready means: the access log answers (no log, no data) and the settings were accepted
        # at start (an app with bad settings never gets this far). The registries and the cache
        # are reported, never a reason to be unready: a summary with a source down (or served
        # stale, or without the shared cache) is still the best a clinician can get.
        clients: SourceClients = request.state.clients
        access_log = await access_log_state(request.state.audit_writer)
        for upstream in clients.upstreams:
            if upstream.metrics is not None:
                upstream.metrics.breaker(upstream.breaker.state)
        ready = access_log == "ok"
        return JSONResponse(
            {
                "status": "ready" if ready else "unready",
                "accessLog": access_log,
                "profile": settings.profile,
                "sources": [health_json(r) for r in clients.health()],
                "cache": dict(clients.cache.health()),
            },
            status_code=200 if ready else 503,
        )

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if settings.ops.metrics:
        token = settings.ops.metrics_token
        secret = token.get_secret_value() if token is not None else None
        routes.append(Route("/metrics", metrics_route(metrics, secret), methods=["GET"]))
    return routes
