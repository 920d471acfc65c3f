"""Everything a run starts besides the load: mock registries, issuer, gateways, ceiling, peer.

``Stack`` owns them and what they leave behind (a temporary directory, the PostgreSQL schemas and
Redis keys of its own), and removes it all on exit, whatever happened.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import asyncpg
import redis

from bench.config import PEER_DIR, PROJECT_DIR, BenchConfig, Variant
from bench.issuer import Issuer
from bench.servers import Server, free_port, python_argv
from mocks.faults import BATCH_COUNT
from mocks.sources import ADMIN_PREFIX, Source, base_url
from resolvers.examples import SUMMARY_QUERY_FILE

WARM_TTL_S = 86400  # longer than any run: every read after warm-up is a cache hit
STATS_SETTLE_POLLS = 30
COLD_SOURCE_SETTINGS = {"CACHE_TTL_S": "0", "STALE_MAX_S": "0"}  # every read goes upstream


_NOT_SEARCHES = frozenset({BATCH_COUNT, "metadata"})


@dataclass(frozen=True, slots=True)
class UpstreamCalls:
    """Counts from the registries' request counters (``Stack.upstream_calls``)."""

    exchanges: int
    searches: int
    summaries: int


class Stack:
    """Starts the shared pieces on entry; gateways, ceilings and peers on demand."""

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.workdir = Path(tempfile.mkdtemp(prefix="summary-bench-"))
        self.logs = self.workdir / "logs"
        self.logs.mkdir()
        self.issuer = Issuer()
        self.mock_urls: dict[str, str] = {}
        self._registries: dict[str, Server] = {}
        self._schemas: list[str] = []
        self._namespaces: list[str] = []
        self._documents = self.workdir / "documents"
        self._documents.mkdir()
        shutil.copyfile(SUMMARY_QUERY_FILE, self._documents / SUMMARY_QUERY_FILE.name)
        self._count = 0

    def __enter__(self) -> Stack:
        try:
            self.issuer.__enter__()
            self._start_registries()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for registry in self._registries.values():
            registry.stop()
        self.issuer.__exit__(None, None, None)
        _drop_schemas(self.config.postgres_dsn, self._schemas)
        _forget_namespaces(self.config.redis_url, self._namespaces)
        if exc is None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:  # the servers' logs say why
            print(f"bench failed; the servers' logs are kept in {self.logs}", file=sys.stderr)

    # -- the mock registries ------------------------------------------------------------------

    def _start_registries(self) -> None:
        """One process per registry, all started at once, each serving the same seeded
        population (so the data is what one process serving all six would answer)."""
        for source in Source:
            port = free_port()
            argv = python_argv(
                "-m", "bench.mock_registries", "--only", source.value, "--port", str(port),
                "--population", str(self.config.population),
                *(["--memoise"] if self.config.memoised_mocks else []),
            )  # fmt: skip
            self._registries[source.value] = Server(
                f"mock-{source.value}",
                argv,
                port=port,
                cwd=PROJECT_DIR,  # bench/ is not installed: it runs from the checkout
                ready_path=f"{ADMIN_PREFIX}/stats",  # admin requests are not counted
                log_dir=self.logs,
            )
        for registry in self._registries.values():
            registry.launch()
        for registry in self._registries.values():
            registry.wait_ready()
        self.mock_urls = {
            source: base_url("127.0.0.1", registry.port)
            for source, registry in self._registries.items()
        }

    def registries_cpu_s(self) -> dict[str, float]:
        """CPU seconds each registry's process has used so far, by source."""
        return {source: registry.cpu_s() for source, registry in self._registries.items()}

    def set_latency(self, latency_ms: int) -> None:
        """Delay every registry's answers by ``latency_ms``."""
        for url in self.mock_urls.values():
            _admin(url, "latency", "PUT", {"latency_ms": latency_ms})

    def reset_upstream_calls(self) -> None:
        """Zero the registries' request counters."""
        for url in self.mock_urls.values():
            _admin(url, "stats", "DELETE")

    def upstream_calls(self) -> UpstreamCalls:
        """What the registries answered since the last reset: HTTP exchanges, the searches and
        reads they carried (a FHIR batch is one exchange carrying several), and Consent reads.

        Every summary (ours and the peer's) reads the patient's Consent exactly once, never
        from a cache, so the Consent count is the number of summaries the registries served,
        including those still in flight when the load stopped (wrk does not count those). The
        counters are read once they stop moving.
        """
        previous: UpstreamCalls | None = None
        for _ in range(STATS_SETTLE_POLLS):
            stats = [_admin(url, "stats", "GET") for url in self.mock_urls.values()]
            counts = [s["by_resource_type"] for s in stats]
            calls = UpstreamCalls(
                exchanges=sum(int(s["total"]) for s in stats),
                searches=sum(
                    int(n) for c in counts for kind, n in c.items() if kind not in _NOT_SEARCHES
                ),
                summaries=sum(int(c.get("Consent", 0)) for c in counts),
            )
            if calls == previous:
                break
            previous = calls
            time.sleep(0.1)
        return previous or UpstreamCalls(0, 0, 0)

    def missing_services(self) -> dict[str, str]:
        """``{"postgres"|"redis": why}`` for each service the variants need that does not answer."""
        missing: dict[str, str] = {}
        try:
            asyncio.run(_connect_and_close(self.config.postgres_dsn))
        except (OSError, asyncpg.PostgresError) as exc:
            missing["postgres"] = f"no PostgreSQL at the DSN given ({type(exc).__name__})"
        client = redis.Redis.from_url(self.config.redis_url, socket_connect_timeout=2)
        try:
            client.ping()
        except (redis.RedisError, OSError) as exc:
            missing["redis"] = f"no Redis at {self.config.redis_url} ({type(exc).__name__})"
        finally:
            client.close()
        return missing

    # -- the servers under test ---------------------------------------------------------------

    def gateway(
        self, variant: Variant, workers: int, *, warm: bool, factory: str = "gateway.app:create_app"
    ) -> Server:
        """The gateway under uvicorn with production-like settings (not yet started)."""
        name = self._name(f"gateway-{variant.label}-w{workers}-{'warm' if warm else 'cold'}")
        data_dir = self.workdir / name
        env = {
            "GATEWAY_PROFILE": "production",
            "GATEWAY_GRAPHQL__TRUSTED_DOCUMENTS_DIR": str(self._documents),
            "GATEWAY_AUTH__ISSUERS": self.issuer.settings_json(),
            "GATEWAY_DATA_DIR": str(data_dir),
        }
        for source, url in self.mock_urls.items():
            prefix = f"GATEWAY_SOURCES__{source.upper()}__"
            env[prefix + "BASE_URL"] = url
            if warm:
                env[prefix + "CACHE_TTL_S"] = str(WARM_TTL_S)
            else:
                env.update({prefix + key: value for key, value in COLD_SOURCE_SETTINGS.items()})
        if variant.audit == "postgres":
            schema = f"bench_{uuid.uuid4().hex[:12]}"
            self._schemas.append(schema)
            env["GATEWAY_AUDIT__POSTGRES_DSN"] = self.config.postgres_dsn
            env["GATEWAY_AUDIT__POSTGRES_SCHEMA"] = schema
        if variant.cache == "redis":
            namespace = f"summary-bench-{uuid.uuid4().hex[:12]}"
            self._namespaces.append(namespace)
            env["GATEWAY_CACHE__REDIS_URL"] = self.config.redis_url
            env["GATEWAY_CACHE__NAMESPACE"] = namespace
            env["GATEWAY_CACHE__ENCRYPTION_KEY"] = base64.b64encode(os.urandom(32)).decode()
        return self._uvicorn(name, factory, workers, env, ready_path="/healthz")

    def ceiling(self, workers: int, body: bytes) -> Server:
        """The bare ASGI app answering ``body`` (not yet started)."""
        name = self._name(f"ceiling-w{workers}")
        path = self.workdir / f"{name}.json"
        path.write_bytes(body)
        return self._uvicorn(
            name, "bench.ceiling:create_app", workers, {"BENCH_CEILING_BODY": str(path)}
        )

    def peer(self, workers: int, supergraph: Path) -> Server:
        """Hive Gateway in its best configuration, ``--fork workers`` (not yet started)."""
        port = free_port()
        argv = [
            "node",
            str(PEER_DIR / "node_modules" / "@graphql-hive" / "gateway" / "dist" / "bin.js"),
            "supergraph",
            str(supergraph),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--fork",
            str(workers),
            "--hive-router-runtime",
        ]
        return Server(
            self._name(f"peer-fork{workers}"),
            argv,
            port=port,
            env={"NODE_ENV": "production"},
            cwd=self.workdir,
            ready_path="/healthcheck",
            workers=workers,
            log_dir=self.logs,
        )

    def compose_peer(self) -> Path:
        """Compose the peer's supergraph over this run's registries (GraphQL Mesh Compose)."""
        out = self.workdir / "supergraph.graphql"
        env = {f"BENCH_{source.upper()}_URL": url for source, url in self.mock_urls.items()}
        with (self.logs / "mesh-compose.log").open("ab") as log:
            subprocess.run(
                [str(PEER_DIR / "node_modules" / ".bin" / "mesh-compose"), "-o", str(out)],
                cwd=PEER_DIR,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
            )
        return out

    def _uvicorn(
        self, name: str, factory: str, workers: int, env: dict[str, str], ready_path: str = "/"
    ) -> Server:
        port = free_port()
        argv = python_argv(
            "-m", "uvicorn", "--factory", factory, "--app-dir", str(PROJECT_DIR),
            "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers),
            "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning",
        )  # fmt: skip
        return Server(
            name,
            argv,
            port=port,
            env=env,
            ready_path=ready_path,
            workers=workers,
            log_dir=self.logs,
        )

    def _name(self, base: str) -> str:
        self._count += 1
        return f"{self._count:02d}-{base}"


def peer_installed() -> bool:
    """Whether ``npm ci`` has run in bench/peer (and Node.js is here to run it)."""
    return (
        shutil.which("node") is not None
        and (PEER_DIR / "node_modules" / ".bin" / "mesh-compose").exists()
    )


def _admin(base_url: str, route: str, method: str, body: object = None) -> dict[str, Any]:
    url = base_url.removesuffix("/fhir") + f"/_admin/{route}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


async def _connect_and_close(dsn: str) -> None:
    db = await asyncpg.connect(dsn, timeout=5)
    await db.close()


def _drop_schemas(dsn: str, schemas: list[str]) -> None:
    """Drop the schemas this run created (and nothing else)."""
    if not schemas:
        return

    async def drop() -> None:
        db = await asyncpg.connect(dsn, timeout=5)
        try:
            for schema in schemas:
                await db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await db.close()

    with contextlib.suppress(OSError, asyncpg.PostgresError):
        asyncio.run(drop())


def _forget_namespaces(url: str, namespaces: list[str]) -> None:
    if not namespaces:
        return
    client = redis.Redis.from_url(url)
    try:
        for namespace in namespaces:
            keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
            if keys:
                client.delete(*keys)
    except redis.RedisError:
        pass
    finally:
        client.close()
