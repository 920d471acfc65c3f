"""CPU time and resident memory of processes, read from ``/proc`` (Linux).

A multi-worker server is a parent and its children: ``tree`` lists both, so the CPU of every
process serving the load is counted, the supervisor included.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class ProcSample:
    """One process at one moment."""

    pid: int
    cpu_s: float  # user + system time since the process started
    rss_bytes: int


def sample(pid: int) -> ProcSample | None:
    """The process ``pid`` now, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    rss_pages = int(fields[21])
    return ProcSample(pid, (utime + stime) / _TICKS_PER_S, rss_pages * _PAGE_BYTES)


def children(pid: int) -> list[int]:
    """The direct children of ``pid``."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except FileNotFoundError:
            continue
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    pids = [pid]
    for child in children(pid):
        pids.extend(tree(child))
    return pids


def cpu_s(pids: list[int]) -> float:
    """Total CPU seconds of the processes still alive among ``pids``."""
    return sum(s.cpu_s for s in map(sample, pids) if s is not None)
