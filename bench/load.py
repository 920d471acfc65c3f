"""One measured load run against one server: throughput, latency, CPU and upstream calls."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import wrk
from bench.queries import JSON_HEADERS, post
from bench.servers import Server
from bench.stack import Stack

PRIME_CONCURRENCY = 8
PRIME_MAX_PASSES = 20


@dataclass(frozen=True, slots=True)
class Measurement:
    """A wrk run with what the server's processes spent on it."""

    server: str
    load: wrk.LoadResult
    cpu_ms_per_request: float  # the server's processes (the gateway's, the peer's, ...)
    upstream_calls_per_request: float  # HTTP exchanges per Consent read: see Stack.upstream_calls
    registries_cpu_ms_by_source: Mapping[str, float]  # per request: the mocks' own cost
    searches_per_request: float = 0.0  # searches and reads, batched or not, per Consent read

    @property
    def registries_cpu_ms_per_request(self) -> float:
        """CPU ms every mock registry process spent, per request served."""
        return sum(self.registries_cpu_ms_by_source.values())

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.load.rps

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the results file."""
        return {
            "server": self.server,
            "rps": round(self.rps, 1),
            **{
                k: (round(v, 3) if isinstance(v, float) else v)
                for k, v in asdict(self.load).items()
            },
            # Answers are checked before and after a run, not during it; a run whose answers
            # went wrong shows here (an error answer is far smaller than a summary).
            "bytes_per_request": round(self.load.bytes_read / max(self.load.requests, 1)),
            "cpu_ms_per_request": round(self.cpu_ms_per_request, 3),
            "upstream_calls_per_request": round(self.upstream_calls_per_request, 2),
            "searches_per_request": round(self.searches_per_request, 2),
            "registries_cpu_ms_per_request": round(self.registries_cpu_ms_per_request, 3),
            "registries_cpu_ms_by_source": {
                source: round(ms, 3) for source, ms in self.registries_cpu_ms_by_source.items()
            },
        }


class Target:
    """A started server, the requests it gets, and the check its answers must pass."""

    def __init__(
        self,
        stack: Stack,
        server: Server,
        *,
        bodies: Sequence[bytes],
        headers: Mapping[str, str],
        check: Callable[[bytes], None],
        path: str = "/graphql",
    ) -> None:
        self.stack = stack
        self.server = server
        self._bodies = bodies
        self._headers = {**JSON_HEADERS, **headers}
        self._check = check
        self._path = path
        self._scripts: dict[int, Path] = {}

    def check(self) -> bytes:
        """One request for the first body; raise unless its answer passes the check."""
        answer = post(self.server.url + self._path, self._bodies[0], self._headers)
        self._check(answer)
        return answer

    def send_each(self) -> None:
        """Send every body once (a few at a time), checking each answer."""
        with concurrent.futures.ThreadPoolExecutor(PRIME_CONCURRENCY) as pool:
            answers = pool.map(
                lambda body: post(self.server.url + self._path, body, self._headers),
                self._bodies,
            )
            for answer in answers:
                self._check(answer)

    def prime(self) -> None:
        """Send every body until a whole pass is served from the cache (Consent reads aside).

        Each worker has its own memory cache, and connections land on whichever worker accepts
        them, so one pass does not warm every worker: passes repeat until one needs no upstream
        search but the never-cached Consent.
        """
        for _ in range(PRIME_MAX_PASSES):
            self.stack.reset_upstream_calls()
            self.send_each()
            calls = self.stack.upstream_calls()
            if calls.searches <= calls.summaries:
                return
        raise RuntimeError(f"{self.server.name}: the cache is still cold after priming")

    def run(self, connections: int, duration_s: float) -> Measurement:
        """Load the server and measure it; the answers are checked before and after."""
        self.check()
        self.stack.reset_upstream_calls()
        cpu_before = self.server.cpu_s()
        registries_before = self.stack.registries_cpu_s()
        result = wrk.run(
            self.server.url + self._path,
            self._script(min(2, connections)),
            connections=connections,
            duration_s=duration_s,
        )
        cpu_after = self.server.cpu_s()
        registries_after = self.stack.registries_cpu_s()
        calls = self.stack.upstream_calls()
        self.check()
        requests = max(result.requests, 1)
        return Measurement(
            server=self.server.name,
            load=result,
            cpu_ms_per_request=(cpu_after - cpu_before) * 1000 / requests,
            upstream_calls_per_request=calls.exchanges / calls.summaries
            if calls.summaries
            else 0.0,
            searches_per_request=calls.searches / calls.summaries if calls.summaries else 0.0,
            registries_cpu_ms_by_source={
                source: (registries_after[source] - before) * 1000 / requests
                for source, before in registries_before.items()
            },
        )

    def _script(self, threads: int) -> Path:
        path = self._scripts.get(threads)
        if path is None:
            path = self.stack.workdir / f"{self.server.name}-t{threads}.lua"
            path.write_text(wrk.script(self._path, self._bodies, self._headers, threads))
            self._scripts[threads] = path
        return path
