"""What the upstream cache needs of a store: the interface memory and Redis implement as peers.

Like the audit stores (``gateway/audit/store.py``), the stores differ in where values live and
how they fail; what a value means (naming, sealing, generations) is decided above them, in
``gateway/upstream/cache/upstream_cache.py``. Keys are complete names and values raw bytes (or
the small integers of generation counters): a store adds no namespace and no serialisation.

A store never raises on a read or a write: a cache that fails is a miss (the registries are the
source of truth). Only ``bump`` raises, because a write to a registry must know whether the
cached copies it makes stale were really dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class CacheStore(Protocol):
    """Where cached values live."""

    shared: bool
    """True when other processes see the same values (Redis), False for this process only."""

    async def read(self, keys: Sequence[str]) -> list[Any] | None:
        """The values at ``keys``, in order (None where absent); None as a whole when the store
        cannot answer now: then the caller neither trusts nor stores anything."""
        ...

    async def write(self, key: str, value: bytes, ttl_s: float) -> None:
        """Keep ``value`` at ``key`` for ``ttl_s`` seconds, if the store is well: best effort."""
        ...

    async def bump(self, key: str, keep_s: int) -> None:
        """Add one to the counter at ``key`` (absent: 0) and keep it ``keep_s`` seconds from now.
        Raises when that may not have held."""
        ...

    def health(self) -> Mapping[str, str]:
        """For ``/readyz``: which store, and whether it is used now."""
        ...

    async def close(self) -> None:
        """Release connections (nothing to do in memory)."""
        ...
