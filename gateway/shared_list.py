"""Lists mapped from a cached answer, shared by every request that answer serves.

``FhirSource.fetch`` makes them (``shared``) from values mapped once per cache entry; the executor
(``gateway/shared_results.py``) and completion plans (``gateway/plans.py``) keep on each list
what it completed to, per selection, so the next request with the same selection reuses it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

Completed = dict[tuple[int, ...], tuple[tuple[object, ...], Any]]
"""Completions by the identity of what selected them (nodes, or a plan); each entry holds those
objects, so an id is never reused while its entry lives."""

MAX_SELECTIONS = 8
"""Selections remembered per list: a few documents (a summary, a medication view) are the norm."""


class SharedList(list[Any]):
    """A list mapped from a cached answer, shared by every request the entry serves. Never
    mutated after ``shared`` made it."""

    __slots__ = ("completed",)

    def __init__(self, items: list[Any]) -> None:
        super().__init__(items)
        self.completed: Completed = {}

    def kept(self, owners: tuple[object, ...]) -> Any:
        """What these owners completed this list to, or ``MISSING``."""
        entry = self.completed.get(tuple(map(id, owners)))
        if entry is not None and all(a is b for a, b in zip(entry[0], owners, strict=True)):
            return entry[1]
        return MISSING

    def keep(self, owners: tuple[object, ...], completed: Any) -> None:
        """Remember ``completed`` for these owners, forgetting the oldest beyond the bound."""
        if len(self.completed) >= MAX_SELECTIONS:
            self.completed.pop(next(iter(self.completed)))
        self.completed[tuple(map(id, owners))] = (owners, completed)


MISSING: Any = object()
"""Nothing kept for that selection."""


def shared(value: Any) -> Any:
    """``value`` with its lists (itself, or its dataclass fields) made ``SharedList``s."""
    if type(value) is list:
        return SharedList(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            item = getattr(value, field.name, None)
            if type(item) is list:
                object.__setattr__(value, field.name, SharedList(item))
    return value
