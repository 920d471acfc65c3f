"""The cache of upstream answers: aiocache in memory or in Redis, data-only and sealed.

What is cached is the raw FHIR of one search (``SearchResult.to_json()``), keyed by source,
patient, resource type and query. Never an access decision: those run on every request.

Small parts, each with its own tests (``tests/gateway/upstream/``):

- ``store``: the interface a store implements; ``memory`` (aiocache's ``SimpleMemoryCache``,
  bounded by the store) and ``redis`` (aiocache's ``RedisCache``, behind the breaker in
  ``redis_guard``, reads gathered by ``batching``) are peers, both used through aiocache's
  public API only;
- ``naming``: keys are HMACs of their parts, so no key holds an identity number;
- ``sealing``: values are JSON envelopes, sealed with AES-256-GCM under their own key (required
  for Redis);
- ``generations``: ``invalidate_patient`` bumps a per-source, per-patient counter read with
  every entry; entries of an older generation are misses;
- ``memo``: an unchanged entry is the same ``CachedEntry`` on every lookup, so what is derived
  from it is made once;
- ``upstream_cache``: ``UpstreamCache``, which puts them together for ``gateway/upstream/guard.py``.

A cache that fails (Redis down, a value that does not open) is a miss, never an error: the
registries are the source of truth.
"""

from gateway.upstream.cache.memo import CachedEntry
from gateway.upstream.cache.upstream_cache import Lookup, UpstreamCache

__all__ = ["CachedEntry", "Lookup", "UpstreamCache"]
