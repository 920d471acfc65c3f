"""Reads started together are one call to the store; each reader gets its own values."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.upstream.cache.batching import ReadBatcher


class _Store:
    """A store that answers each key with its upper case, and notes every call."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    async def read_many(self, keys: list[str]) -> list[Any]:
        self.calls.append(list(keys))
        await asyncio.sleep(0)
        if self.fail:
            raise OSError("refused")
        return [key.upper() for key in keys]


async def test_reads_started_together_share_one_call() -> None:
    store = _Store()
    batcher = ReadBatcher(store.read_many)
    found = await asyncio.gather(batcher.read(["a", "b"]), batcher.read(["c"]), batcher.read([]))
    assert list(found) == [["A", "B"], ["C"], []]
    assert store.calls == [["a", "b", "c"]]
    assert await batcher.read(["d"]) == ["D"]
    assert store.calls[1:] == [["d"]], "a read after the batch went is a batch of its own"


async def test_a_failed_call_fails_each_reader() -> None:
    batcher = ReadBatcher(_Store(fail=True).read_many)
    results = await asyncio.gather(batcher.read(["a"]), batcher.read(["b"]), return_exceptions=True)
    assert [type(result) for result in results] == [OSError, OSError]


async def test_a_reader_that_gives_up_does_not_cancel_the_others() -> None:
    store = _Store()
    batcher = ReadBatcher(store.read_many)
    leaving = asyncio.ensure_future(batcher.read(["a"]))
    staying = asyncio.ensure_future(batcher.read(["b"]))
    await asyncio.sleep(0)
    leaving.cancel()
    assert await staying == ["B"]
    with pytest.raises(asyncio.CancelledError):
        await leaving
