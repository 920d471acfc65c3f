"""Load from ``wrk``: a Lua script posts GraphQL requests in turn, and reports as JSON.

Each wrk thread formats every request once (``init``) and sends them round-robin, starting at
its own offset, so the requests in flight at once name different patients. ``done`` prints the
totals and latency percentiles on one line that ``run`` parses.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_MARKER = "WRK_JSON "
_SCRIPT = """
local bodies = {%(bodies)s}
local headers = {%(headers)s}
local requests = {}
local next_index = 1

local threads_set_up = 0

function setup(thread)
  thread:set("offset", threads_set_up)
  threads_set_up = threads_set_up + 1
end

function init(args)
  for i, body in ipairs(bodies) do
    requests[i] = wrk.format("POST", "%(path)s", headers, body)
  end
  next_index = (offset * math.floor(#requests / %(threads)d)) %% #requests + 1
end

function request()
  local r = requests[next_index]
  next_index = next_index %% #requests + 1
  return r
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(marker)s{"requests":%%d,"duration_us":%%d,"bytes":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"status":%%d,"timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,' ..
    '"mean_us":%%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean))
end
"""


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one wrk run measured."""

    connections: int
    requests: int
    duration_s: float
    errors: int  # socket errors, timeouts and non-2xx/3xx answers
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    bytes_read: int

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.duration_s if self.duration_s else 0.0


def script(path: str, bodies: Sequence[bytes], headers: Mapping[str, str], threads: int) -> str:
    """The Lua script that posts ``bodies`` in turn to ``path`` with ``headers``."""
    return _SCRIPT % {
        "bodies": ", ".join(_lua_string(body.decode()) for body in bodies),
        "headers": ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()),
        "path": path,
        "threads": threads,
        "marker": _MARKER,
    }


def run(
    url: str,
    script_path: Path,
    *,
    connections: int,
    duration_s: float,
    timeout_s: float = 10.0,
) -> LoadResult:
    """Drive ``url`` with the script for ``duration_s`` at ``connections`` connections."""
    threads = min(2, connections)
    argv = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={timeout_s:g}s",
        "-s",
        str(script_path),
        url,
    ]
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)
    for line in completed.stdout.splitlines():
        if line.startswith(_MARKER):
            data = json.loads(line[len(_MARKER) :])
            break
    else:
        raise RuntimeError(f"wrk gave no result: {completed.stdout}\n{completed.stderr}")
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return LoadResult(
        connections=connections,
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        errors=int(errors),
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        bytes_read=int(data["bytes"]),
    )


def wrk_path() -> str:
    """The wrk binary; ``make bench`` installs Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: `apt-get install wrk` (make bench does this)")
    return found


def _lua_string(text: str) -> str:
    # A Lua long string cannot be escaped into; a quoted one with escapes always works.
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
