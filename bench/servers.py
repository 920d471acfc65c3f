"""The servers under test, each a process of its own: started, awaited until ready, stopped.

Every server listens on a free loopback port chosen at start. Its processes (a multi-worker
server is a supervisor and its workers) are found in ``/proc`` for CPU and memory figures.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from bench import procstat

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    """A port nothing listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A server process answering ``ready_path`` with 200 once it serves."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        port: int,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready_path: str = "/",
        workers: int = 1,
        log_dir: Path,
    ) -> None:
        self.name = name
        self.port = port
        self.workers = workers
        self._argv = list(argv)
        self._env = {**os.environ, **(env or {})}
        self._cwd = cwd
        self._ready_path = ready_path
        self._log_path = log_dir / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The process started (a supervisor when there are several workers)."""
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._process.pid

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the process and wait until it answers (and all its workers are up)."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process, without waiting for it (``wait_ready`` does)."""
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self._argv,
                env=self._env,
                cwd=self._cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        """Wait until the server answers and all its workers are up; stop it if it never does."""
        if self._process is None:
            raise RuntimeError(f"{self.name} was not launched")
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self._log_path}")
            if self._answers() and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready; see {self._log_path}")

    def stop(self) -> None:
        """SIGTERM the whole process group, then SIGKILL what is left."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def pids(self) -> list[int]:
        """Every process of this server: the one started and all its descendants."""
        return procstat.tree(self.pid)

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the children, or the process itself if alone."""
        if self.workers == 1:
            return [self.pid]
        return [pid for pid in procstat.children(self.pid) if not _is_helper(pid)]

    def cpu_s(self) -> float:
        """CPU seconds used so far by every process of this server."""
        return procstat.cpu_s(self.pids())

    def rss_bytes(self) -> list[int]:
        """Resident memory of each worker."""
        samples = [procstat.sample(pid) for pid in self.worker_pids()]
        return [s.rss_bytes for s in samples if s is not None]

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + self._ready_path, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False


def _is_helper(pid: int) -> bool:
    """multiprocessing's resource tracker is a child of uvicorn's supervisor, not a worker."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return True
    return b"resource_tracker" in cmdline


def python_argv(*args: str) -> list[str]:
    """``args`` run by this interpreter (the project's virtual environment)."""
    return [sys.executable, *args]
