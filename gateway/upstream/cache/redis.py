"""The Redis store: aiocache's ``RedisCache``, shared by every process and host that uses it.

Every call goes through aiocache's public API (``multi_get``, ``set`` with ``ttl``,
``increment``, ``expire``). aiocache's own per-call timeout (``asyncio.wait_for``, 5 s by
default) is off (``timeout=None``): each round trip is bounded by the redis client's connect
and socket timeouts (``cache.redis_timeout_s``), and counted by the breaker in
``gateway/upstream/cache/redis_guard.py``, which skips a Redis that stops answering.

Reads started together go in one ``MGET`` (``batching.py``); a failed or skipped read is a
miss, a failed or skipped write is dropped, and only a failed ``bump`` raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from aiocache import RedisCache
from aiocache.serializers import NullSerializer
from redis.exceptions import RedisError

from gateway.settings import CacheSettings
from gateway.upstream.cache.batching import ReadBatcher
from gateway.upstream.cache.redis_guard import SharedCacheGuard

T = TypeVar("T")

FAILURES = (RedisError, OSError, TimeoutError)
"""How a round trip to Redis fails: refused, reset, timed out."""


def redis_client(settings: CacheSettings) -> Any:
    """An aiocache ``RedisCache`` for ``cache.redis_url``, values as raw bytes."""
    if settings.redis_url is None:
        raise ValueError("cache.redis_url is not set")
    url = urlsplit(settings.redis_url)
    if url.scheme not in {"redis", "rediss"}:
        raise ValueError("cache.redis_url must start with redis:// or rediss://")
    return RedisCache(
        serializer=NullSerializer(encoding=None),
        timeout=None,  # no wait_for per call: the socket timeouts below bound each round trip
        endpoint=url.hostname or "127.0.0.1",
        port=url.port or 6379,
        db=int(url.path.strip("/") or 0),
        password=unquote(url.password) if url.password else None,
        ssl=url.scheme == "rediss",
        create_connection_timeout=settings.redis_timeout_s,
        connection_pool_kwargs={"socket_timeout": settings.redis_timeout_s},
    )


class RedisStore:
    """Values in Redis, behind ``guard``."""

    shared = True

    def __init__(self, client: Any, guard: SharedCacheGuard) -> None:
        self._client = client
        self.guard = guard
        self._reads = ReadBatcher(self._multi_get)

    async def read(self, keys: Sequence[str]) -> list[Any] | None:
        if not self.guard.may_read():
            return None  # skipped: a miss, and nothing is stored either
        try:
            return await self._reads.read(keys)
        except FAILURES:
            # The guard counted the failed round trip (once for all the reads it carried) and
            # logs when Redis stops answering: no line per search.
            return None

    async def write(self, key: str, value: bytes, ttl_s: float) -> None:
        if not self.guard.may_write():
            return
        try:
            await self._round_trip(self._client.set(key, value, ttl=ttl_s))
        except FAILURES:
            return  # counted by the guard; the answer is simply not cached

    async def bump(self, key: str, keep_s: int) -> None:
        # Tried even while the breaker skips Redis: the write must know whether this held.
        await self._round_trip(self._client.increment(key, 1))
        await self._round_trip(self._client.expire(key, keep_s))

    def health(self) -> Mapping[str, str]:
        return self.guard.health()

    async def close(self) -> None:
        await self._client.close()

    async def _multi_get(self, keys: list[str]) -> list[Any]:
        # One MGET is one round trip, however many lookups it serves: the guard learns of it once.
        values: list[Any] = await self._round_trip(self._client.multi_get(keys))
        return values

    async def _round_trip(self, call: Awaitable[T]) -> T:
        """Await one round trip to Redis and tell the guard how it went."""
        try:
            result = await call
        except FAILURES as exc:
            self.guard.failed(exc)
            raise
        except asyncio.CancelledError:
            self.guard.abandoned()
            raise
        self.guard.answered()
        return result
