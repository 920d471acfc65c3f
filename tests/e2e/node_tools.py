"""Running the pinned Node.js tools in ``tests/node/`` (installed by ``make test``) from pytest.

A developer without Node.js or Chromium gets a skip that says what is missing; in CI
(``CI=true``) the same absence fails the test, so a green CI run always ran them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
CHROMIUM = "/usr/bin/chromium"


def unavailable(reason: str) -> None:
    """Skip the test, or fail it in CI, where every tool must be present."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


def node_executable() -> str:
    """The ``node`` binary, with ``tests/node/node_modules`` installed (else skip or fail)."""
    node = shutil.which("node")
    if node is None:
        unavailable("Node.js is not installed: install Node.js 20+ and run `make test`")
    if not (NODE_DIR / "node_modules").is_dir():
        unavailable("tests/node/node_modules is missing: run `make test` (it runs `npm ci`)")
    assert node is not None
    return node


def chromium_executable() -> str:
    """Debian's Chromium (else skip or fail)."""
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(
            f"{CHROMIUM} is missing: `apt-get install chromium` (make test does it as root)"
        )
    return CHROMIUM


async def run_node(
    script: str, *args: str, auth_headers: dict[str, str], timeout_s: float = 120.0
) -> tuple[int, str]:
    """Run ``tests/node/<script>``; return its exit code and standard output."""
    env = dict(os.environ)
    authorization = auth_headers.get("Authorization") or auth_headers.get("authorization")
    if authorization:
        env["GRAPHQL_AUTHORIZATION"] = authorization
    process = await asyncio.create_subprocess_exec(
        node_executable(),
        script,
        *args,
        cwd=NODE_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if stderr:
        print(stderr.decode(errors="replace"))
    assert process.returncode is not None
    return process.returncode, stdout.decode()


def last_json_line(output: str) -> Any:
    """The JSON object a script prints as its last line."""
    return json.loads(output.strip().splitlines()[-1])
