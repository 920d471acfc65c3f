"""The cache of upstream answers: aiocache in memory or in Redis, data-only and sealed.

What is cached is the raw FHIR of one search (``SearchResult.to_json()``), keyed by source,
patient, resource type and query. Never an access decision: those run on every request.

- Values are JSON (orjson), never pickle. With an encryption key (required for Redis, optional in
  memory) each value is sealed with AES-256-GCM; the entry's own key is the associated data, so a
  value moved to another key does not open.
- Keys hold no identity number: each is an HMAC of its parts under a key derived from the
  encryption key (with no key configured, a random one per process, which only the memory cache
  can use).
- ``invalidate_patient`` bumps a per-source, per-patient generation that every entry records;
  entries of an older generation are misses. One ``MGET`` reads an entry and its generation
  together, so this costs no extra round trip.
- A cache that fails (Redis down, a value that does not open) is a miss, never an error: the
  registries are the source of truth. A Redis that stops answering is skipped at once after a
  few failed round trips, until a probe finds it back (``gateway/upstream/cache_guard.py``).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

import orjson
from aiocache import RedisCache, SimpleMemoryCache
from aiocache.serializers import NullSerializer
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from redis.exceptions import RedisError

from gateway.settings import CacheSettings, Settings
from gateway.upstream.cache_guard import SharedCacheGuard

log = logging.getLogger("gateway.cache")
T = TypeVar("T")

_NONCE_BYTES = 12
_CACHE_FAILURES = (RedisError, OSError, TimeoutError)


class BoundedMemoryCache(SimpleMemoryCache):  # type: ignore[misc]
    """aiocache's memory cache, holding at most ``max_entries``: the oldest entry goes first."""

    def __init__(self, max_entries: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_entries = max_entries

    async def _set(
        self,
        key: str,
        value: Any,
        ttl: float | None = None,
        _cas_token: Any = None,
        _conn: Any = None,
    ) -> Any:
        if key not in self._cache:
            while len(self._cache) >= self._max_entries:
                await self._delete(next(iter(self._cache)))
        return await super()._set(key, value, ttl=ttl, _cas_token=_cas_token, _conn=_conn)


@dataclass(frozen=True, slots=True)
class CachedEntry:
    """One cached answer and when it was fetched from the registry (Unix time).

    While the stored value is unchanged, every lookup returns this same object (see
    ``UpstreamCache.lookup``), so what is derived from it once (the decoded answer, its mapped
    objects) is kept in ``derived`` and shared by the requests it serves. Derived values are
    never changed after they are made.
    """

    value: Any
    stored_at: float
    derived: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def age_s(self) -> float:
        """How old the answer is now, in seconds."""
        return max(0.0, time.time() - self.stored_at)

    def decoded(self, decode: Callable[[Any], T]) -> T:
        """``decode(value)``, made once per entry and decoder."""
        try:
            return cast(T, self.derived[decode])
        except KeyError:
            made = self.derived[decode] = decode(self.value)
            return made


@dataclass(frozen=True, slots=True)
class _ReadBatch:
    """Keys to read from Redis together, and the future their values arrive on, in order."""

    keys: list[str]
    values: asyncio.Future[list[Any]]


def _settle(
    values: asyncio.Future[list[Any]],
    guard: SharedCacheGuard | None,
    sent: asyncio.Future[list[Any]],
) -> None:
    # One MGET is one round trip, however many lookups it serves: the guard learns of it once.
    if sent.cancelled():
        if guard is not None:
            guard.abandoned()
        if not values.done():
            values.cancel()
    elif (error := sent.exception()) is not None:
        if guard is not None:
            guard.failed(error)
        if not values.done():
            values.set_exception(error)
    else:
        if guard is not None:
            guard.answered()
        if not values.done():
            values.set_result(sent.result())


def _retrieve(values: asyncio.Future[list[Any]]) -> None:
    if not values.cancelled():
        values.exception()


@dataclass(frozen=True, slots=True)
class _Opened:
    """A stored value as last read and opened: the sealed bytes, their generation, the entry."""

    blob: bytes
    generation: int
    entry: CachedEntry


@dataclass(frozen=True, slots=True)
class Lookup:
    """Where an answer lives in the cache, the generation it must carry, and what was there."""

    key: str
    generation: int
    entry: CachedEntry | None


class UpstreamCache:
    """Stores and finds upstream answers; one per app, opened and closed by the lifespan."""

    def __init__(
        self,
        backend: Any,
        settings: CacheSettings,
        shared: bool,
        retain_s: float,
        guard: SharedCacheGuard | None = None,
    ) -> None:
        self._backend = backend
        self.guard = guard  # the shared cache's breaker; None in memory, which cannot fail
        self._retain_s = retain_s
        self._opened: dict[str, _Opened] = {}
        self._batch: _ReadBatch | None = None  # Redis reads gathering for one MGET
        self._names: dict[tuple[str, tuple[object, ...]], str] = {}
        self._max_opened = settings.max_entries
        self._namespace = settings.namespace
        secret = settings.key_bytes()
        self._aead = AESGCM(secret) if secret is not None else None
        # Naming entries needs a key that every process sharing the cache agrees on.
        self._name_key = (
            hmac.digest(secret, b"summary-gateway cache key names", "sha256")
            if secret is not None
            else os.urandom(32)
        )
        self.shared = shared

    @classmethod
    def open(
        cls, gateway_settings: Settings, clock: Callable[[], float] = time.monotonic
    ) -> UpstreamCache:
        """Redis when ``cache.redis_url`` is set, otherwise a bounded memory cache. ``clock``
        times the Redis breaker (tests move it)."""
        settings = gateway_settings.cache
        if settings.redis_url is None:
            return cls.memory(gateway_settings)
        if settings.encryption_key is None:  # settings refuse this too; stay closed regardless
            raise ValueError("a Redis cache needs an encryption key")
        url = urlsplit(settings.redis_url)
        if url.scheme not in {"redis", "rediss"}:
            raise ValueError("cache.redis_url must start with redis:// or rediss://")
        backend = RedisCache(
            serializer=NullSerializer(encoding=None),
            timeout=None,  # aiocache's own wait_for per call; the socket timeouts bound Redis
            endpoint=url.hostname or "127.0.0.1",
            port=url.port or 6379,
            db=int(url.path.strip("/") or 0),
            password=unquote(url.password) if url.password else None,
            ssl=url.scheme == "rediss",
            create_connection_timeout=settings.redis_timeout_s,
            connection_pool_kwargs={"socket_timeout": settings.redis_timeout_s},
        )
        guard = SharedCacheGuard(settings, clock)
        return cls(backend, settings, True, _longest_keep(gateway_settings), guard)

    @classmethod
    def memory(cls, gateway_settings: Settings) -> UpstreamCache:
        """A memory cache for this process only."""
        settings = gateway_settings.cache
        backend = BoundedMemoryCache(
            settings.max_entries, serializer=NullSerializer(encoding=None), timeout=None
        )
        return cls(backend, settings, shared=False, retain_s=_longest_keep(gateway_settings))

    def _name(self, kind: str, *parts: object) -> str:
        # Naming is an HMAC: a summary names 28 entries, so recent names are kept (in memory
        # only, like the entries themselves).
        remembered = self._names.get((kind, parts))
        if remembered is not None:
            return remembered
        digest = hmac.new(self._name_key, orjson.dumps(parts), hashlib.sha256).hexdigest()
        name = f"{self._namespace}:{kind}:{digest}"
        if len(self._names) >= self._max_opened:
            self._names.pop(next(iter(self._names)))
        self._names[(kind, parts)] = name
        return name

    def _generation_key(self, source: str, patient: str) -> str:
        return self._name("g", source, patient)

    def key_of(
        self, source: str, patient: str, resource_type: str, params: Sequence[tuple[str, str]]
    ) -> str:
        """The (keyed-hash) name of this search's entry."""
        return self._name("v", source, patient, resource_type, tuple(map(tuple, params)))

    async def lookup(
        self, source: str, patient: str, resource_type: str, params: Sequence[tuple[str, str]]
    ) -> Lookup:
        """The cached answer to this search, if any (of any age), and where to store a new one.

        The store is asked every time (another instance may have changed or invalidated the
        entry). When it answers with the very bytes last opened here, and the patient's
        generation is unchanged, the entry opened then is returned again: no decryption, no
        parsing, and what was derived from it is reused.
        """
        key = self.key_of(source, patient, resource_type, params)
        if self.guard is not None and not self.guard.may_read():
            return Lookup(key, -1, None)  # Redis is skipped; -1: do not store either
        try:
            blob, generation_raw = await self._read([key, self._generation_key(source, patient)])
        except _CACHE_FAILURES:
            # The guard counted the failed round trip (once for all the reads it carried) and
            # logs when Redis stops answering: no line per search.
            return Lookup(key, -1, None)  # -1: do not store either, the cache is not well
        generation = int(generation_raw or 0)
        if blob is None:
            self._opened.pop(key, None)
            return Lookup(key, generation, None)
        opened = self._opened.get(key)
        if opened is not None and (opened.blob is blob or opened.blob == blob):
            if opened.generation != generation:
                return Lookup(key, generation, None)
            return Lookup(key, generation, opened.entry)
        envelope = self._open(key, blob, source)
        if envelope is None or envelope.get("g") != generation:
            return Lookup(key, generation, None)
        entry = CachedEntry(envelope["v"], float(envelope["t"]))
        self._remember(key, _Opened(bytes(blob), int(envelope["g"]), entry))
        return Lookup(key, generation, entry)

    async def _read(self, keys: list[str]) -> list[Any]:
        """The raw values at ``keys`` (None where absent).

        This is the read of every search of every request, so it calls the backend's own read:
        aiocache's public ``multi_get`` adds four wrappers per call (an environment lookup,
        timeout, plugins, a debug line), a tenth of a cached search's cost. The keys are complete
        names (no aiocache namespace) and values raw bytes (``NullSerializer``), so nothing the
        wrappers do applies here. aiocache is pinned; ``tests/gateway/test_cache.py`` runs every
        case on both backends.

        In Redis, the reads started in one turn of the event loop go together in one ``MGET``:
        a summary starts its 14 searches at once, so it costs one round trip, not 14.
        """
        if not self.shared:
            values: list[Any] = await self._backend._multi_get(keys, encoding=None)
            return values
        batch = self._batch
        if batch is None:
            loop = asyncio.get_running_loop()
            batch = self._batch = _ReadBatch([], loop.create_future())
            # Runs after every task that is ready now has taken its step (and added its keys).
            loop.call_soon(self._send, batch)
        start = len(batch.keys)
        batch.keys.extend(keys)
        # Shielded: a request that gives up must not cancel the read the others wait for.
        found = await asyncio.shield(batch.values)
        return found[start : start + len(keys)]

    def _send(self, batch: _ReadBatch) -> None:
        self._batch = None
        sent = asyncio.ensure_future(self._backend._multi_get(batch.keys, encoding=None))
        sent.add_done_callback(functools.partial(_settle, batch.values, self.guard))
        # Every waiter may have given up: the outcome is taken here so none goes unretrieved.
        batch.values.add_done_callback(_retrieve)

    def _remember(self, key: str, opened: _Opened) -> None:
        # Bounded like the memory cache: the oldest opened entry goes first.
        self._opened.pop(key, None)
        while len(self._opened) >= self._max_opened:
            self._opened.pop(next(iter(self._opened)))
        self._opened[key] = opened

    async def store(self, lookup: Lookup, value: Any, stored_at: float, ttl_s: float) -> None:
        """Keep ``value`` (JSON data) for ``ttl_s`` seconds under the lookup's key."""
        if lookup.generation < 0 or ttl_s <= 0:
            return
        if self.guard is not None and not self.guard.may_write():
            return
        envelope = orjson.dumps({"g": lookup.generation, "t": stored_at, "v": value})
        await self._guarded(
            self._backend.set(lookup.key, self._seal(lookup.key, envelope), ttl=float(ttl_s)),
            raise_failure=False,
        )

    async def invalidate_patient(self, source: str, patient: str) -> None:
        """Make every cached answer of ``source`` about ``patient`` (an identity number) a miss
        from now on; for writes that change the source's data. Raises when the cache fails: a
        write must not look done while old answers could still be served.
        """
        key = self._generation_key(source, patient)
        # Tried even while the breaker skips Redis: the write must know whether this held.
        await self._guarded(self._backend.increment(key, 1), raise_failure=True)
        # Kept as long as any entry lives, so no entry of an older generation can come back.
        await self._guarded(self._backend.expire(key, int(self._retain_s) + 1), raise_failure=True)

    async def _guarded(self, call: Awaitable[object], raise_failure: bool) -> None:
        """Await one round trip to the backend and tell the guard how it went."""
        try:
            await call
        except _CACHE_FAILURES as exc:
            if self.guard is not None:
                self.guard.failed(exc)
            if raise_failure:
                raise
            return
        except asyncio.CancelledError:
            if self.guard is not None:
                self.guard.abandoned()
            raise
        if self.guard is not None:
            self.guard.answered()

    def health(self) -> Mapping[str, str]:
        """For ``/readyz``: which cache, and whether it is used now."""
        if self.guard is None:
            return {"kind": "memory", "state": "ok"}
        return self.guard.health()

    async def aclose(self) -> None:
        """Close the connection pool (nothing to do in memory)."""
        await self._backend.close()

    def _seal(self, key: str, plaintext: bytes) -> bytes:
        if self._aead is None:
            return plaintext
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, key.encode())

    def _open(self, key: str, blob: Any, source: str) -> dict[str, Any] | None:
        try:
            data = bytes(blob)
            if self._aead is not None:
                data = self._aead.decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], key.encode())
            envelope = orjson.loads(data)
        except (InvalidTag, ValueError, TypeError) as exc:
            log.warning("a cached value of %s did not open: %s", source, type(exc).__name__)
            return None
        return envelope if isinstance(envelope, dict) else None


def _longest_keep(settings: Settings) -> float:
    """The longest any entry is stored: fresh for ``cache_ttl_s``, then kept for stale use."""
    return max(
        (max(source.cache_ttl_s, source.stale_max_s) for _, source in settings.sources.items()),
        default=0.0,
    )
