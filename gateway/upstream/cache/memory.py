"""The memory store: aiocache's ``SimpleMemoryCache`` for this process, bounded by this store.

aiocache's memory cache has no size limit. Rather than override its private ``_set`` (as this
module once did), the store notes each key it writes and, past ``max_entries``, deletes the one
written longest ago through aiocache's public ``delete``. (An aiocache plugin, the library's
documented hook, could do the same from ``post_set``, but aiocache runs every plugin's ``pre_``
and ``post_`` hooks around every command, reads included: about a microsecond on each of a
warm summary's 14 lookups, for a bound that only writes need.)

Generation counters (``bump``: ``increment`` and ``expire``) are not counted nor evicted:
dropping one would bring back the entries of an older generation. They expire on their own, and
there is one per patient written to. Entries that expired by their ttl stay noted until their
turn comes, so the cache may hold fewer than ``max_entries`` live entries, never more.

Every call goes through aiocache's public API with its per-call timeout off (``timeout=None``):
a dict does not hang, and ``asyncio.wait_for`` would cost a task per call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiocache import SimpleMemoryCache
from aiocache.serializers import NullSerializer


class WriteOrder:
    """The keys written, the oldest first, at most ``max_entries`` of them."""

    def __init__(self, max_entries: int) -> None:
        self._max = max(1, max_entries)
        self._written: dict[str, None] = {}  # insertion-ordered

    def __len__(self) -> int:
        return len(self._written)

    def wrote(self, key: str) -> list[str]:
        """Note ``key`` as written now; the keys that must go to make room, the oldest first."""
        self._written.pop(key, None)
        self._written[key] = None
        evicted = []
        while len(self._written) > self._max:
            oldest = next(iter(self._written))
            del self._written[oldest]
            evicted.append(oldest)
        return evicted


class MemoryStore:
    """Values for this process only; never fails."""

    shared = False

    def __init__(self, max_entries: int) -> None:
        self._client = SimpleMemoryCache(serializer=NullSerializer(encoding=None), timeout=None)
        self._order = WriteOrder(max_entries)

    async def read(self, keys: Sequence[str]) -> list[Any] | None:
        values: list[Any] = await self._client.multi_get(list(keys))
        return values

    async def write(self, key: str, value: bytes, ttl_s: float) -> None:
        await self._client.set(key, value, ttl=ttl_s)
        for oldest in self._order.wrote(key):
            await self._client.delete(oldest)

    async def bump(self, key: str, keep_s: int) -> None:
        await self._client.increment(key, 1)
        await self._client.expire(key, keep_s)

    def health(self) -> Mapping[str, str]:
        return {"kind": "memory", "state": "ok"}

    async def close(self) -> None:
        await self._client.close()
