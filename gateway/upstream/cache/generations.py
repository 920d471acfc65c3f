"""Per-patient invalidation: a generation counter per source and patient.

Every entry records the generation of its patient at the source when it was stored; a write to
the source bumps the counter, and entries of an older generation are misses from then on. The
counter is read in the same round trip as the entry (one ``MGET`` in Redis), so this costs no
extra round trip, and it reaches every process sharing the store. A counter is kept as long as
any entry can live (``keep_s``), so no entry of an older generation can come back after it.
"""

from __future__ import annotations

from typing import Any

from gateway.upstream.cache.naming import Names
from gateway.upstream.cache.store import CacheStore


def generation_of(raw: Any) -> int:
    """The generation a counter's stored value stands for (absent: 0)."""
    return int(raw or 0)


class Generations:
    """Names, reads and bumps the generation counters in ``store``."""

    def __init__(self, names: Names, store: CacheStore, keep_s: float) -> None:
        self._names = names
        self._store = store
        self._keep_s = int(keep_s) + 1

    def key(self, source: str, patient: str) -> str:
        """Where ``source``'s counter for ``patient`` lives."""
        return self._names.generation(source, patient)

    async def bump(self, source: str, patient: str) -> None:
        """Make every entry of ``source`` about ``patient`` stored so far a miss. Raises when the
        store failed: a write must not look done while old answers could still be served."""
        await self._store.bump(self.key(source, patient), self._keep_s)
