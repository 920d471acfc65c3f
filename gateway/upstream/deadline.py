"""The request's deadline, as seen from the upstream searches it started.

``Context.deadline`` (an absolute ``loop.time()``) is the source of truth. The source clients
are built once per app and take no context, so ``RequestFetches`` starts each search task with
the deadline in this context variable; the one place that waits (timeouts, retries, the
bulkhead, single-flight) reads it back with ``remaining()``. A search started outside a request
(a unit test, a script) has no deadline.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

request_deadline: ContextVar[float | None] = ContextVar("request_deadline", default=None)


def remaining() -> float | None:
    """Seconds left until the current request's deadline (may be ≤ 0), or None without one."""
    deadline = request_deadline.get()
    if deadline is None:
        return None
    return deadline - asyncio.get_running_loop().time()


def bounded(seconds: float) -> float:
    """``seconds``, cut to what is left of the deadline (never below zero)."""
    left = remaining()
    return seconds if left is None else max(0.0, min(seconds, left))
