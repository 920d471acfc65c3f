"""Shared fixtures: real mock registries on ephemeral ports, and the real gateway served by uvicorn.

Nothing is monkeypatched: the gateway talks HTTP to the mock FHIR servers, and end-to-end tests
talk HTTP to the gateway.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
import redis.exceptions
import uvicorn
from aiohttp import web
from pydantic import SecretStr

from gateway.access.actor import StatedAccess
from gateway.access.dev_issuer import DEV_AUDIENCE, DEV_ISSUER, DevIssuer
from gateway.access.tokens import actor_of, stated_access
from gateway.app import create_app
from gateway.audit import build_store
from gateway.audit.writer import AuditWriter
from gateway.graphql.context import Context
from gateway.graphql.schema import GatewaySchema, build_schema
from gateway.settings import (
    AuthSettings,
    CacheSettings,
    IssuerSettings,
    Settings,
    SourceSettings,
    SourcesSettings,
)
from gateway.upstream.cache import UpstreamCache
from mocks.personas import token_persona
from mocks.population import Population
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.clients import SourceClients
from resolvers.examples import SUMMARY_QUERY_FILE

# Short timeouts keep the hang cases quick; a small page size makes ordinary patients span
# several pages, so paging (and a broken next link) is exercised on every source.
TEST_TIMEOUT_S = 0.8
TEST_PAGE_SIZE = 5


def pytest_collection_finish(session: pytest.Session) -> None:
    """After collection imported everything, take it out of the garbage collector's reach.

    A full collection walks every tracked object. Without this, the whole run's ~700,000 objects
    (strawberry, graphql-core, pydantic, fhir.resources, test state) made passes of up to 1 s,
    which stalled the event loop past the short upstream timeouts the fault tests use.
    """
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def population() -> Population:
    """The seeded synthetic population every mock serves."""
    # A small record cache keeps the live heap, and so the garbage collector's pauses, small:
    # a full collection over a million cached FHIR objects stalls the event loop for ~1 s.
    return Population(seed=2026, size=300, cache_size=32)


@pytest.fixture(scope="session")
async def shared_registries(population: Population) -> AsyncIterator[MockRegistries]:
    """All six mock registries on ephemeral ports, started once for the whole run."""
    async with MockRegistries(population, ports=dict.fromkeys(Source, 0)) as mocks:
        yield mocks


@pytest.fixture
async def registries(shared_registries: MockRegistries) -> AsyncIterator[MockRegistries]:
    """The mock registries, as good as new for each test: no fault, no latency, zero counts."""

    async def reset() -> None:
        # Clearing also releases requests still hanging under a test's fault.
        await shared_registries.clear_fault()
        for source in shared_registries.sources:
            shared_registries.set_latency(source, 0)
        shared_registries.reset_stats()
        # Writes to the core record are undone, so each test starts from the seeded records.
        shared_registries.population.edits.clear()

    await reset()
    yield shared_registries
    await reset()


DEFAULT_PERSONA = "home-care-gp"
"""Whose token the shared fixtures use unless a test says otherwise: a GP (doctor) on TREAT and
EXCEPTION, who sees every section that the patient has not restricted."""


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's data directory: the development issuer's key and the SQLite access log."""
    return tmp_path_factory.mktemp("var")


_DATA_DIR: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def _remember_data_dir(data_dir: Path) -> Iterator[None]:
    _DATA_DIR.append(data_dir)
    yield
    _DATA_DIR.clear()


def dev_issuer() -> DevIssuer:
    """The development issuer over the run's data directory."""
    return DevIssuer(_DATA_DIR[0])


def token_for(persona: str = DEFAULT_PERSONA, **claims: Any) -> str:
    """A development-issuer token for a demo persona, with ``claims`` added or replaced."""
    merged = {**token_persona(persona).claims, **claims}
    return dev_issuer().token({k: v for k, v in merged.items() if v is not None})


def bearer(persona: str = DEFAULT_PERSONA, **claims: Any) -> dict[str, str]:
    """``Authorization`` for a persona's token."""
    return {"Authorization": f"Bearer {token_for(persona, **claims)}"}


# Unless a test turns them on, every request reaches the registries as if there were no cache,
# no retries and no breaker: most tests count or fault upstream requests one summary at a time.
RESILIENCE_OFF: dict[str, Any] = {
    "cache_ttl_s": 0,
    "stale_max_s": 0,
    "retries": 0,
    "breaker_failure_threshold": 1_000_000,
}


def settings_for(
    registries: MockRegistries,
    *,
    cache: CacheSettings | None = None,
    request_deadline_s: float = 10.0,
    data_dir: Path | None = None,
    **source_overrides: Any,
) -> Settings:
    """Settings that point every source at the running mocks, with the development issuer and
    the SQLite access log in the run's data directory; ``source_overrides`` apply to every
    source (see ``RESILIENCE_OFF`` for what is off by default)."""
    options: dict[str, Any] = {
        "timeout_s": TEST_TIMEOUT_S,
        "connect_timeout_s": TEST_TIMEOUT_S,
        "page_size": TEST_PAGE_SIZE,
        "max_pages": 100,
        **RESILIENCE_OFF,
        **source_overrides,
    }
    sources = SourcesSettings(
        **{
            source.value: SourceSettings(base_url=url, **options)
            for source, url in registries.base_urls.items()
        }
    )
    return Settings(
        sources=sources,
        graphiql=True,
        data_dir=data_dir or _DATA_DIR[0],
        auth=AuthSettings(dev_issuer=True),
        cache=cache or CacheSettings(),
        request_deadline_s=request_deadline_s,
    )


@pytest.fixture(scope="session")
def auth_headers(data_dir: Path) -> dict[str, str]:
    """Headers that authenticate a client of the gateway (the default persona's token)."""
    return bearer()


@pytest.fixture(scope="session")
def shared_settings(shared_registries: MockRegistries) -> Settings:
    """Gateway settings for the running mocks."""
    return settings_for(shared_registries)


@pytest.fixture
def settings(shared_settings: Settings, registries: MockRegistries) -> Settings:
    """Gateway settings for the running mocks (which this test gets fresh)."""
    return shared_settings


def persona_access(
    persona: str = DEFAULT_PERSONA, headers: dict[str, str] | None = None, **claims: Any
) -> tuple[Any, StatedAccess]:
    """The actor and stated access a persona's token gives (what the HTTP view would build)."""
    merged = {**token_persona(persona).claims, **claims}
    merged = {k: v for k, v in merged.items() if v is not None}
    return actor_of(merged, DEV_ISSUER), stated_access(merged, headers or {})


@dataclass
class SchemaRunner:
    """Executes documents against the schema directly, with a real context and real clients."""

    settings: Settings
    clients: SourceClients
    audit_writer: AuditWriter
    schema: GatewaySchema = field(default_factory=build_schema)

    def context(
        self, persona: str = DEFAULT_PERSONA, headers: dict[str, str] | None = None, **claims: Any
    ) -> Context:
        """A request's context for ``persona``, as the HTTP view would build it."""
        actor, stated = persona_access(persona, headers, **claims)
        return Context(
            request_id="test",
            settings=self.settings,
            clients=self.clients,
            deadline=Context.deadline_in(self.settings.request_deadline_s),
            actor=actor,
            stated=stated,
            audit_writer=self.audit_writer,
        )

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        persona: str = DEFAULT_PERSONA,
        headers: dict[str, str] | None = None,
        **claims: Any,
    ) -> dict[str, Any]:
        """``{"data": ..., "errors": [...formatted]}``, as the HTTP layer would return it."""
        context = self.context(persona, headers, **claims)
        result = await self.schema.execute(query, variable_values=variables, context_value=context)
        return {"data": result.data, "errors": [e.formatted for e in result.errors or []]}


@contextlib.asynccontextmanager
async def audit_writer(settings: Settings) -> AsyncIterator[AuditWriter]:
    """The access-log store ``settings`` name, opened, with a running writer."""
    store = build_store(settings)
    await store.open()
    writer = AuditWriter(store, settings.audit.max_batch, settings.audit.write_timeout_s)
    await writer.start()
    try:
        yield writer
    finally:
        await writer.stop()
        await store.close()


@pytest.fixture(scope="session")
async def shared_runner(shared_settings: Settings) -> AsyncIterator[SchemaRunner]:
    """A schema-level runner over the mocks, with one HTTP session and access log for the run."""
    async with audit_writer(shared_settings) as writer, aiohttp.ClientSession() as session:
        yield SchemaRunner(shared_settings, SourceClients.build(shared_settings, session), writer)


@pytest.fixture
def runner(shared_runner: SchemaRunner, registries: MockRegistries) -> SchemaRunner:
    """A schema-level runner over the mocks (which this test gets fresh)."""
    return shared_runner


@dataclass
class GatewayServer:
    """The real app, served by uvicorn on an ephemeral port. ``session`` sends the default
    persona's token with every request; ``anonymous`` sends none."""

    url: str
    session: aiohttp.ClientSession
    anonymous: aiohttp.ClientSession

    async def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        persona: str | None = DEFAULT_PERSONA,
    ) -> dict[str, Any]:
        """POST a GraphQL request as ``persona`` (None: no token) and return the decoded body."""
        sent = {**(bearer(persona) if persona else {}), **(headers or {})}
        session = self.session if persona else self.anonymous
        async with session.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, headers=sent
        ) as response:
            body: dict[str, Any] = await response.json()
            return body


@contextlib.asynccontextmanager
async def served(app: web.Application) -> AsyncIterator[str]:
    """A real aiohttp server for ``app`` on an ephemeral loopback port; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def dev_keys_published() -> AsyncIterator[IssuerSettings]:
    """The development issuer's keys served over HTTP as a JWKS, as a real issuer publishes its
    own: for gateways in the production profile, which refuses the development issuer itself."""

    async def jwks(_request: web.Request) -> web.Response:
        return web.json_response(dev_issuer().jwks_document())

    app = web.Application()
    app.router.add_get("/jwks", jwks)
    async with served(app) as url:
        yield IssuerSettings(
            issuer=DEV_ISSUER, jwks_url=f"{url}/jwks", audience=DEV_AUDIENCE, algorithms=("ES256",)
        )


@contextlib.asynccontextmanager
async def asgi_served(app: Any) -> AsyncIterator[str]:
    """``app`` under uvicorn on an ephemeral loopback port until the block ends; yields its base
    URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[GatewayServer]:
    """Run ``create_app(settings)`` under uvicorn until the block ends."""
    async with (
        asgi_served(create_app(settings)) as url,
        aiohttp.ClientSession(headers=bearer()) as session,
        aiohttp.ClientSession() as anonymous,
    ):
        yield GatewayServer(url, session, anonymous)


# A registered mutation, so production tests can send variables of an input type.
REGISTER_TREATMENT = (
    "mutation RegisterTreatment($nin: NationalIdentityNumber!, $input: OngoingTreatmentInput!) "
    "{ registerOngoingTreatment(nin: $nin, input: $input) { replayed } }"
)


@contextlib.asynccontextmanager
async def serve_production(
    registries: MockRegistries, trusted_documents: Path
) -> AsyncIterator[GatewayServer]:
    """A gateway in the production profile in front of ``registries``: the development issuer's
    keys published as a real issuer's, only the documents in ``trusted_documents`` run."""
    base = settings_for(registries)
    async with dev_keys_published() as issuer:
        settings = Settings(
            sources=base.sources,
            profile="production",
            graphql={"trusted_documents_dir": trusted_documents},
            auth=AuthSettings(issuers=(issuer,)),
            data_dir=base.data_dir,
        )
        async with serve(settings) as server:
            yield server


@pytest.fixture(scope="session")
async def production_gateway(
    shared_registries: MockRegistries, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GatewayServer]:
    """A production-profile gateway whose registered documents are the example summary query
    (``resolvers/summary.graphql``) and one mutation (``REGISTER_TREATMENT``), started once for
    the run."""
    documents = tmp_path_factory.mktemp("trusted-documents")
    (documents / "summary.graphql").write_bytes(SUMMARY_QUERY_FILE.read_bytes())
    (documents / "register-treatment.graphql").write_text(REGISTER_TREATMENT)
    async with serve_production(shared_registries, documents) as server:
        yield server


@pytest.fixture
def production(production_gateway: GatewayServer, registries: MockRegistries) -> GatewayServer:
    """The production-profile gateway, in front of mocks this test gets fresh."""
    return production_gateway


@pytest.fixture(scope="session")
async def shared_gateway(shared_settings: Settings) -> AsyncIterator[GatewayServer]:
    """The gateway over HTTP in front of the mocks, started once for the run."""
    async with serve(shared_settings) as server:
        yield server


@pytest.fixture
def gateway(shared_gateway: GatewayServer, registries: MockRegistries) -> GatewayServer:
    """The gateway over HTTP, in front of mocks this test gets fresh."""
    return shared_gateway


def strip_timing(value: Any) -> Any:
    """A response without what differs between two identical requests (times and durations)."""
    if isinstance(value, dict):
        return {
            k: strip_timing(v)
            for k, v in value.items()
            if k not in {"fetchedAt", "durationMs", "searches"}
        }
    if isinstance(value, list):
        return [strip_timing(v) for v in value]
    return value


_PROVENANCE = {"fromCache", "staleAgeSeconds", "sources"}


def strip_provenance(value: Any) -> Any:
    """What a summary holds, without how it was fetched (times, durations, cache, searches):
    what differs between two servers, or two ways of asking, that hold the same data."""
    value = strip_timing(value)
    if isinstance(value, dict):
        return {k: strip_provenance(v) for k, v in value.items() if k not in _PROVENANCE}
    if isinstance(value, list):
        return [strip_provenance(v) for v in value]
    return value


# What the resilience tests turn on: a cache, one retry, the breaker (each test may change it).
RESILIENCE_ON: dict[str, Any] = {
    "cache_ttl_s": 60.0,
    "stale_max_s": 600.0,
    "retries": 1,
    "retry_backoff_s": 0.02,
    "breaker_failure_threshold": 5,
}


@contextlib.asynccontextmanager
async def fresh_runner(settings: Settings) -> AsyncIterator[SchemaRunner]:
    """A schema-level runner with clients of its own: an empty cache (the configured one, memory
    or Redis), closed breakers."""
    cache = UpstreamCache.open(settings)
    try:
        async with audit_writer(settings) as writer, aiohttp.ClientSession() as session:
            yield SchemaRunner(settings, SourceClients.build(settings, session, cache), writer)
    finally:
        await cache.aclose()


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_cache() -> Iterator[CacheSettings]:
    """Cache settings for the real Redis, under a namespace of this test's own (deleted after).

    Skips when Redis is not reachable, except under CI=true, where Redis must be there.
    """
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        client.close()
        if os.environ.get("CI") == "true":
            raise AssertionError(f"CI needs Redis at {REDIS_URL}") from exc
        pytest.skip(f"no Redis at {REDIS_URL} ({type(exc).__name__})")
    namespace = f"test-{uuid.uuid4().hex}"
    try:
        yield CacheSettings(
            redis_url=REDIS_URL,
            encryption_key=SecretStr(base64.b64encode(os.urandom(32)).decode()),
            namespace=namespace,
        )
    finally:
        keys = list(client.scan_iter(match=f"{namespace}:*"))
        if keys:
            client.delete(*keys)
        client.close()
