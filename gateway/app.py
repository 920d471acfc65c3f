"""The app factory: routes, and a lifespan that owns every I/O resource."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import AsyncIterator
from importlib.metadata import version
from typing import TypedDict

import aiohttp
import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Mount, Route

from gateway.access.tokens import ACCESS_HEADERS, Authenticator, build_authenticator
from gateway.audit import build_store
from gateway.audit.store import AuditUnavailable
from gateway.audit.writer import AuditWriter
from gateway.errors import ConfigurationError
from gateway.graphql.persisted import check_trusted_documents
from gateway.graphql.schema import build_schema
from gateway.http.authentication import Authentication
from gateway.http.body_limit import BodySizeLimit
from gateway.http.csrf import PREFLIGHT_HEADERS, CsrfPrevention
from gateway.http.graphiql import graphiql_assets_app, graphiql_page
from gateway.http.negotiation import REQUEST_ID_HEADER, request_id_of
from gateway.http.observed import Observed
from gateway.http.probes import operations_routes
from gateway.http.security_headers import SecurityHeaders
from gateway.http.view import GatewayGraphQL
from gateway.ips.route import SummaryEndpoint, summary_route
from gateway.ips.signing import jwks_route, signer_for
from gateway.ops.metrics import GatewayMetrics, known_operation_names
from gateway.ops.observe import RequestObserver
from gateway.ops.tracing import TRACE_CONTEXT_HEADERS, Tracing
from gateway.settings import Settings
from gateway.upstream.cache import UpstreamCache
from resolvers.clients import SourceClients
from resolvers.examples import EXAMPLE_VARIABLES, summary_query
from resolvers.ips.document import summary_document

# What Apollo Client's ``clientAwareness`` (its ``name`` and ``version`` options) sends with every
# request; a browser app that sets them is refused at the preflight unless CORS allows them.
CLIENT_AWARENESS_HEADERS = ("apollographql-client-name", "apollographql-client-version")
_CAPABILITIES_WAIT_S = 3.0
"""How long start waits for the sources' CapabilityStatements (they are read in parallel)."""
log = logging.getLogger(__name__)


class State(TypedDict):
    """What the lifespan hands every request (``request.state``)."""

    clients: SourceClients
    authenticator: Authenticator
    audit_writer: AuditWriter


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the gateway. ``None`` reads the settings from the environment."""
    settings = settings if settings is not None else Settings()
    # Fail at start, not on the first request, when a source has nowhere to go.
    settings.require_source_urls()
    settings.require_auth()
    metrics = GatewayMetrics(known_operation_names(settings.graphql))
    schema = build_schema(
        settings.operation_cache_size, settings.graphql, fallbacks=metrics.execution_fallbacks
    )
    check_trusted_documents(settings.graphql.trusted_documents_dir, schema.request_errors)
    tracing = Tracing(settings) if settings.ops.tracing != "off" else None

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[State]:
        cache = UpstreamCache.open(settings)
        if cache.guard is not None:
            cache.guard.metrics = metrics.shared_cache()
        connector = aiohttp.TCPConnector(
            limit=settings.http_max_connections, limit_per_host=0, ttl_dns_cache=300
        )
        try:
            async with aiohttp.ClientSession(
                connector=connector,
                # Only with tracing on: each hook is a coroutine call per upstream request.
                trace_configs=[tracing.trace_config()] if tracing is not None else None,
                # Registries see who calls them; no patient data ever goes in a header.
                headers={"User-Agent": f"summary-gateway/{version('summary-gateway')}"},
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
                raise_for_status=False,
            ) as session:
                clients = SourceClients.build(settings, session, cache)
                await clients.check_privacy_support()
                # The others' CapabilityStatements are read now, so that a first request does
                # not wait for them; one that is slow or down is asked when a request needs it.
                try:
                    await asyncio.wait_for(clients.learn_capabilities(), _CAPABILITIES_WAIT_S)
                except TimeoutError:
                    log.warning("not every CapabilityStatement was read at start")
                for upstream in clients.upstreams:
                    upstream.metrics = metrics.source(upstream.name)
                authenticator = _authenticator(settings, session)
                store = build_store(settings)
                try:
                    await store.open()
                except AuditUnavailable as exc:
                    # No access log, no service: refuse to start rather than serve unlogged.
                    raise ConfigurationError(f"the access log cannot be opened: {exc}") from exc
                writer = AuditWriter(
                    store, settings.audit.max_batch, settings.audit.write_timeout_s
                )
                writer.metrics = metrics.audit
                await writer.start()
                # Everything allocated so far (modules, schema, clients) lives as long as the
                # process: keep it out of the cyclic collector's full passes. Measured here: a
                # full pass over the ~71,000 objects left after start takes ~70 ms, a stall for
                # every request in flight; after the freeze it walks only what requests leave.
                gc.collect()
                gc.freeze()
                try:
                    yield {
                        "clients": clients,
                        "authenticator": authenticator,
                        "audit_writer": writer,
                    }
                finally:
                    await writer.stop()
                    await store.close()
        finally:
            await cache.aclose()
            if tracing is not None:
                tracing.shutdown()
            metrics.worker_stopped()

    routes: list[BaseRoute] = [
        Route(
            "/graphql",
            GatewayGraphQL(
                settings,
                example_query=summary_query(),
                example_variables=EXAMPLE_VARIABLES,
                schema=schema,
            ),
            methods=["GET", "POST"],
            # Outermost first: every request is observed, refusals included; a request a
            # browser could have sent unasked is refused before its token is even looked at.
            middleware=[
                Middleware(Observed, observer=RequestObserver(metrics, tracing, request_id_of)),
                *([Middleware(CsrfPrevention)] if settings.graphql.csrf_prevention else []),
                Middleware(Authentication),
            ],
        ),
        *_document_routes(settings, RequestObserver(metrics, tracing, request_id_of)),
        *operations_routes(settings, metrics),
    ]
    if settings.graphiql:
        # Both calls verify the vendored assets against their integrity hashes: a mismatch stops
        # the app here instead of showing a broken page later.
        graphiql_page(example_query=summary_query(), example_variables=EXAMPLE_VARIABLES)
        routes.append(Mount("/graphiql-assets", graphiql_assets_app(), name="graphiql-assets"))
    middleware = [
        Middleware(SecurityHeaders),
        # Pages on these origins may call the gateway; without an entry, only same-origin pages
        # (GraphiQL) and non-browser clients can. Preflights for others are refused.
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.graphql.cors_allow_origins),
            allow_methods=["GET", "POST"],
            allow_headers=[
                "authorization",
                "content-type",
                REQUEST_ID_HEADER,
                *ACCESS_HEADERS,
                *PREFLIGHT_HEADERS,
                *TRACE_CONTEXT_HEADERS,
                *CLIENT_AWARENESS_HEADERS,
            ],
            expose_headers=[REQUEST_ID_HEADER],
            max_age=600,
        ),
        Middleware(BodySizeLimit, max_bytes=settings.graphql.max_body_bytes),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


def _document_routes(settings: Settings, observer: RequestObserver) -> list[BaseRoute]:
    """``Patient/$summary`` (the IPS document) and the key set its signatures verify with."""
    # The key is read now: a signing key that cannot be used stops the app at start.
    signer = signer_for(settings)
    make = functools.partial(summary_document, gateway_version=version("summary-gateway"))
    endpoint = SummaryEndpoint(settings, observer, request_id_of, make, signer)
    return [summary_route(endpoint), jwks_route(signer)]


def _authenticator(settings: Settings, session: aiohttp.ClientSession) -> Authenticator:
    if settings.auth.dev_issuer:
        from gateway.access.dev_issuer import DevIssuer, dev_issuer_settings

        issuer = DevIssuer(settings.data_dir)
        return build_authenticator(settings.auth, session, issuer.jwks(), dev_issuer_settings())
    return build_authenticator(settings.auth, session)
