"""Reads started in one turn of the event loop, sent to the store together.

A summary starts its 14 searches at once; each asks the cache for its entry and its patient's
generation. Gathered here, they cost one ``MGET`` (one round trip to Redis), not 14. Each reader
still gets its own values, and a failed round trip fails each of them.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class _Batch:
    keys: list[str]
    values: asyncio.Future[list[Any]]


class ReadBatcher:
    """Gathers ``read`` calls made in the same loop turn into one call of ``read_many``."""

    def __init__(self, read_many: Callable[[list[str]], Awaitable[list[Any]]]) -> None:
        self._read_many = read_many
        self._gathering: _Batch | None = None
        self._sent: set[asyncio.Future[list[Any]]] = set()

    async def read(self, keys: Sequence[str]) -> list[Any]:
        """The values at ``keys``, read together with the others asked for in this turn."""
        batch = self._gathering
        if batch is None:
            loop = asyncio.get_running_loop()
            batch = self._gathering = _Batch([], loop.create_future())
            # Runs after every task that is ready now has taken its step (and added its keys).
            loop.call_soon(self._send, batch)
        start = len(batch.keys)
        batch.keys.extend(keys)
        # Shielded: a reader that gives up must not cancel the read the others wait for.
        found = await asyncio.shield(batch.values)
        return found[start : start + len(keys)]

    def _send(self, batch: _Batch) -> None:
        self._gathering = None
        sent = asyncio.ensure_future(self._read_many(batch.keys))
        self._sent.add(sent)  # the loop keeps only weak references to tasks
        sent.add_done_callback(self._sent.discard)
        sent.add_done_callback(functools.partial(_settle, batch.values))
        # Every reader may have given up: the outcome is taken here so none goes unretrieved.
        batch.values.add_done_callback(_retrieve)


def _settle(values: asyncio.Future[list[Any]], sent: asyncio.Future[list[Any]]) -> None:
    if values.done():
        return
    if sent.cancelled():
        values.cancel()
    elif (error := sent.exception()) is not None:
        values.set_exception(error)
    else:
        values.set_result(sent.result())


def _retrieve(values: asyncio.Future[list[Any]]) -> None:
    if not values.cancelled():
        values.exception()
