"""``now_or_later``: a coroutine that never waits is finished at once; one that waits is not
disturbed (the future it waits on can still be awaited by a task)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.execution.eager import now_or_later


async def test_a_coroutine_that_never_waits_is_finished_at_once() -> None:
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    done.set_result(41)
    started = 0

    async def section() -> int:
        nonlocal started
        started += 1
        return await done + 1

    assert now_or_later(section) == 42
    assert started == 1


async def test_a_coroutine_that_waits_is_handed_over_fresh_and_finishes_normally() -> None:
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[int] = loop.create_future()
    started = 0

    async def section() -> int:
        nonlocal started
        started += 1
        return await pending + 1

    later = now_or_later(section)
    assert asyncio.iscoroutine(later)
    loop.call_later(0.01, pending.set_result, 1)  # after the task has begun to wait
    # Awaited inside a task, as graphql-core does: the future is awaitable again.
    assert await asyncio.create_task(later) == 2
    assert started == 2


async def test_an_error_before_any_wait_is_raised_at_once() -> None:
    async def section() -> int:
        raise ValueError("bad FHIR")

    with pytest.raises(ValueError, match="bad FHIR"):
        now_or_later(section)
