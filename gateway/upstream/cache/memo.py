"""What is made from a cached value once and shared while the stored value is unchanged.

The store is asked on every lookup (another process may have replaced or invalidated the entry),
but when it answers with the very bytes last opened here, under the same generation, the entry
opened then is returned again: no decryption, no parsing, and what was derived from it (the
decoded answer, its mapped objects, in ``CachedEntry.derived``) is reused by every request it
serves. Bounded: the oldest opened entry goes first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CachedEntry:
    """One cached answer and when it was fetched from the registry (Unix time).

    While the stored value is unchanged, every lookup returns this same object, so what is
    derived from it once is kept in ``derived`` and shared by the requests it serves. Derived
    values are never changed after they are made.
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
class _Opened:
    blob: bytes
    generation: int
    entry: CachedEntry


class OpenedEntries:
    """The entry last opened at each name, with the bytes and generation it was opened from."""

    def __init__(self, max_entries: int) -> None:
        self._max = max(1, max_entries)
        self._opened: dict[str, _Opened] = {}

    def __len__(self) -> int:
        return len(self._opened)

    def find(self, name: str, blob: Any, generation: int) -> CachedEntry | None:
        """The entry opened from these very bytes under this generation, if any."""
        opened = self._opened.get(name)
        if opened is None or opened.generation != generation:
            return None
        if opened.blob is blob or opened.blob == blob:
            return opened.entry
        return None

    def remember(self, name: str, blob: bytes, generation: int, entry: CachedEntry) -> None:
        """Keep ``entry`` as opened from ``blob`` at ``name``."""
        self._opened.pop(name, None)
        while len(self._opened) >= self._max:
            self._opened.pop(next(iter(self._opened)))
        self._opened[name] = _Opened(blob, generation, entry)

    def forget(self, name: str) -> None:
        """The store no longer holds ``name``."""
        self._opened.pop(name, None)
