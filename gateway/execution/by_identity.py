"""A small memo keyed by *which* objects (not what they are equal to): parsed documents, their
nodes, schema types.

graphql-core nodes hash by walking their whole tree, so keying a cache on them costs as much as
the work it saves. Their identity is enough: the parser cache hands out the same objects for
the same text. Each entry holds the objects it is keyed by, so an id is never reused by another
object while its entry lives.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

V = TypeVar("V")

MISSING: Any = object()
"""What ``get`` returns when nothing is kept for those objects."""


class ByIdentity(Generic[V]):
    """Values kept for tuples of objects, compared by identity; at most ``max_entries``, the
    oldest forgotten first."""

    __slots__ = ("_kept", "_max_entries")

    def __init__(self, max_entries: int) -> None:
        self._kept: dict[tuple[int, ...], tuple[tuple[object, ...], V]] = {}
        self._max_entries = max_entries

    def get(self, owners: tuple[object, ...]) -> V:
        """The value kept for exactly these objects, or ``MISSING``."""
        entry = self._kept.get(tuple(map(id, owners)))
        if entry is not None and all(a is b for a, b in zip(entry[0], owners, strict=True)):
            return entry[1]
        value: V = MISSING
        return value

    def put(self, owners: tuple[object, ...], value: V) -> None:
        """Keep ``value`` for these objects."""
        if len(self._kept) >= self._max_entries:
            self._kept.pop(next(iter(self._kept)))
        self._kept[tuple(map(id, owners))] = (owners, value)

    def __len__(self) -> int:
        return len(self._kept)
