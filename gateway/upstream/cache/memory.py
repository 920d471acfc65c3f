"""The memory store: aiocache's ``SimpleMemoryCache`` for this process, bounded by a plugin.

aiocache's memory cache has no size limit. Rather than override its private ``_set``, the bound
is an aiocache plugin, the library's documented extension point (``BasePlugin``: every command
has ``pre_`` and ``post_`` hooks): it notes each key ``set`` writes and, past ``max_entries``,
deletes the one written longest ago through the public ``delete``. Generation counters
(``increment``) are not counted nor evicted: dropping one would bring back the entries of an
older generation; they expire on their own (``expire``) and there is one per patient written to.
Entries that expired by their ttl stay noted until their turn comes, so the cache may hold fewer
than ``max_entries`` live entries, never more.

Every call goes through aiocache's public API with its per-call timeout off (``timeout=None``):
a dict does not hang.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiocache import SimpleMemoryCache
from aiocache.plugins import BasePlugin
from aiocache.serializers import NullSerializer


class OldestGoesFirst(BasePlugin):  # type: ignore[misc]
    """Keeps an aiocache client at ``max_entries`` keys written by ``set``, deleting the key
    written longest ago first."""

    def __init__(self, max_entries: int) -> None:
        self._max = max(1, max_entries)
        self._written: dict[str, None] = {}  # insertion-ordered: the oldest first

    async def post_set(self, client: Any, key: str, *args: Any, **kwargs: Any) -> None:
        self._written.pop(key, None)
        self._written[key] = None
        while len(self._written) > self._max:
            oldest = next(iter(self._written))
            del self._written[oldest]
            await client.delete(oldest)

    async def post_multi_set(
        self, client: Any, pairs: Sequence[tuple[str, Any]], *args: Any, **kwargs: Any
    ) -> None:
        for key, _ in pairs:
            await self.post_set(client, key)

    async def post_delete(self, client: Any, key: str, *args: Any, **kwargs: Any) -> None:
        self._written.pop(key, None)

    async def post_clear(self, client: Any, *args: Any, **kwargs: Any) -> None:
        self._written.clear()


class MemoryStore:
    """Values for this process only; never fails."""

    shared = False

    def __init__(self, max_entries: int) -> None:
        self._client = SimpleMemoryCache(
            serializer=NullSerializer(encoding=None),
            plugins=[OldestGoesFirst(max_entries)],
            timeout=None,
        )

    async def read(self, keys: Sequence[str]) -> list[Any] | None:
        values: list[Any] = await self._client.multi_get(list(keys))
        return values

    async def write(self, key: str, value: bytes, ttl_s: float) -> None:
        await self._client.set(key, value, ttl=ttl_s)

    async def bump(self, key: str, keep_s: int) -> None:
        await self._client.increment(key, 1)
        await self._client.expire(key, keep_s)

    def health(self) -> Mapping[str, str]:
        return {"kind": "memory", "state": "ok"}

    async def close(self) -> None:
        await self._client.close()
