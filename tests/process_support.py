"""Real gateway processes for the operations tests: ``summary-gateway serve`` in a subprocess,
configured only through its environment, as an operator starts it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.settings import Settings

_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


def gateway_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a gateway process that serves ``settings``' sources with the
    development issuer over the test run's data directory (so the tests' tokens work)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "PROMETHEUS_"))}
    env["GATEWAY_AUTH__DEV_ISSUER"] = "true"
    env["GATEWAY_DATA_DIR"] = str(settings.data_dir)
    for name, source in settings.sources.items():
        prefix = f"GATEWAY_SOURCES__{name.upper()}__"
        env[prefix + "BASE_URL"] = str(source.base_url)
        env[prefix + "TIMEOUT_S"] = str(source.timeout_s)
        env[prefix + "PAGE_SIZE"] = str(source.page_size)
    env.update(extra)
    return env


@dataclass
class GatewayProcess:
    """A running ``summary-gateway serve``; ``output`` collects its log lines."""

    process: asyncio.subprocess.Process
    url: str
    output: list[str] = field(default_factory=list)

    def terminate(self) -> None:
        """SIGTERM, as an orchestrator stops a container."""
        self.process.send_signal(signal.SIGTERM)

    async def wait(self, timeout_s: float = 30.0) -> int:
        """The exit status, once the process ended."""
        return await asyncio.wait_for(self.process.wait(), timeout_s)


async def _drain(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode(errors="replace"))


@dataclass(frozen=True)
class CliRun:
    """How a ``summary-gateway`` command ended."""

    returncode: int
    out: str
    err: str


async def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout_s: float = 60
) -> CliRun:
    """``summary-gateway ARGS`` (``python -m gateway.cli``) in a fresh process, to its end; a
    command still running after ``timeout_s`` is killed and fails the test."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(
            f"summary-gateway {args[0]} was still running after {timeout_s} s"
        ) from None
    assert process.returncode is not None
    return CliRun(process.returncode, out.decode(), err.decode())


@contextlib.asynccontextmanager
async def gateway_process(
    env: dict[str, str], *args: str, cwd: Path | None = None, workers: int = 1
) -> AsyncIterator[GatewayProcess]:
    """``summary-gateway serve --port 0 ARGS`` until the block ends (then SIGTERM, if alive),
    once it listens and its ``workers`` have started (a worker accepts only after its start)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        "--port",
        "0",
        *args,
        *(["--workers", str(workers)] if workers > 1 else []),
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    lines: list[str] = []
    url = None
    started = 0
    try:
        async with asyncio.timeout(60):
            while url is None or started < workers:
                raw = await process.stderr.readline()
                if not raw:
                    raise AssertionError("the gateway exited before listening:\n" + "".join(lines))
                line = raw.decode(errors="replace")
                lines.append(line)
                started += "Application startup complete" in line
                found = _LISTENING.search(line)
                if found:
                    url = f"http://127.0.0.1:{found.group(1)}"
        drain = asyncio.create_task(_drain(process.stderr, lines))
        try:
            yield GatewayProcess(process, url, lines)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            await drain
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
