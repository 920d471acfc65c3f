"""``UpstreamCache``: finds and keeps upstream answers, assembled from the cache's small parts.

A lookup names the entry (``naming``), reads it with its patient's generation in one call to
the store (``store``: ``memory`` or ``redis``), reuses the entry already opened from the same
bytes (``memo``) or opens the sealed value (``sealing``), and checks its generation
(``generations``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.settings import CacheSettings, Settings
from gateway.upstream.cache.generations import Generations, generation_of
from gateway.upstream.cache.memo import CachedEntry, OpenedEntries
from gateway.upstream.cache.memory import MemoryStore
from gateway.upstream.cache.naming import Names
from gateway.upstream.cache.redis import RedisStore, redis_client
from gateway.upstream.cache.redis_guard import SharedCacheGuard
from gateway.upstream.cache.sealing import Envelope, Sealer, Unopenable
from gateway.upstream.cache.store import CacheStore

log = logging.getLogger("gateway.cache")


@dataclass(frozen=True, slots=True)
class Lookup:
    """Where an answer lives in the cache, the generation it must carry, and what was there.

    A generation of -1 means the store could not be asked: nothing is stored under it either.
    """

    key: str
    generation: int
    entry: CachedEntry | None


class UpstreamCache:
    """Stores and finds upstream answers; one per app, opened and closed by the lifespan."""

    def __init__(
        self,
        store: CacheStore,
        settings: CacheSettings,
        retain_s: float,
        guard: SharedCacheGuard | None = None,
    ) -> None:
        secret = settings.key_bytes()
        if store.shared and secret is None:  # settings refuse this too; stay closed regardless
            raise ValueError("a shared cache needs an encryption key")
        self._store = store
        self.guard = guard
        """The shared cache's breaker (for its metrics); None in memory, which cannot fail."""
        self.shared = store.shared
        self._names = Names(secret, settings.namespace, settings.max_entries)
        self._sealer = Sealer(secret)
        self._generations = Generations(self._names, store, retain_s)
        self._opened = OpenedEntries(settings.max_entries)

    @classmethod
    def open(
        cls, gateway_settings: Settings, clock: Callable[[], float] = time.monotonic
    ) -> UpstreamCache:
        """Redis when ``cache.redis_url`` is set, otherwise a bounded memory cache. ``clock``
        times the Redis breaker (tests move it)."""
        settings = gateway_settings.cache
        if settings.redis_url is None:
            return cls.memory(gateway_settings)
        if settings.encryption_key is None:
            raise ValueError("a Redis cache needs an encryption key")
        guard = SharedCacheGuard(settings, clock)
        store = RedisStore(redis_client(settings), guard)
        return cls(store, settings, _longest_keep(gateway_settings), guard)

    @classmethod
    def memory(cls, gateway_settings: Settings) -> UpstreamCache:
        """A memory cache for this process only."""
        settings = gateway_settings.cache
        store = MemoryStore(settings.max_entries)
        return cls(store, settings, _longest_keep(gateway_settings))

    def key_of(
        self, source: str, patient: str, resource_type: str, params: Sequence[tuple[str, str]]
    ) -> str:
        """The (keyed-hash) name of this search's entry."""
        return self._names.entry(source, patient, resource_type, params)

    async def lookup(
        self, source: str, patient: str, resource_type: str, params: Sequence[tuple[str, str]]
    ) -> Lookup:
        """The cached answer to this search, if any (of any age), and where to store a new one.

        The store is asked every time (another instance may have changed or invalidated the
        entry); an unchanged entry is the same object as last time (``memo``).
        """
        key = self._names.entry(source, patient, resource_type, params)
        found = await self._store.read([key, self._generations.key(source, patient)])
        if found is None:
            return Lookup(key, -1, None)  # -1: do not store either, the cache is not well
        blob, counter = found
        generation = generation_of(counter)
        if blob is None:
            self._opened.forget(key)
            return Lookup(key, generation, None)
        entry = self._opened.find(key, blob, generation)
        if entry is not None:
            return Lookup(key, generation, entry)
        try:
            envelope = self._sealer.open(key, blob)
        except Unopenable as exc:
            log.warning("a cached value of %s did not open: %s", source, exc)
            return Lookup(key, generation, None)
        if envelope.generation != generation:
            return Lookup(key, generation, None)
        entry = CachedEntry(envelope.value, envelope.stored_at)
        self._opened.remember(key, bytes(blob), generation, entry)
        return Lookup(key, generation, entry)

    async def store(self, lookup: Lookup, value: Any, stored_at: float, ttl_s: float) -> None:
        """Keep ``value`` (JSON data) for ``ttl_s`` seconds under the lookup's key."""
        if lookup.generation < 0 or ttl_s <= 0:
            return
        sealed = self._sealer.seal(lookup.key, Envelope(lookup.generation, stored_at, value))
        await self._store.write(lookup.key, sealed, float(ttl_s))

    async def invalidate_patient(self, source: str, patient: str) -> None:
        """Make every cached answer of ``source`` about ``patient`` (an identity number) a miss
        from now on; for writes that change the source's data. Raises when the cache fails: a
        write must not look done while old answers could still be served.
        """
        await self._generations.bump(source, patient)

    def health(self) -> Mapping[str, str]:
        """For ``/readyz``: which cache, and whether it is used now."""
        return self._store.health()

    async def aclose(self) -> None:
        """Close the store's connections (nothing to do in memory)."""
        await self._store.close()


def _longest_keep(settings: Settings) -> float:
    """The longest any entry is stored: fresh for ``cache_ttl_s``, then kept for stale use."""
    return max(
        (max(source.cache_ttl_s, source.stale_max_s) for _, source in settings.sources.items()),
        default=0.0,
    )
