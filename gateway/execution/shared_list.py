"""Lists mapped from a cached answer, shared by every request that answer serves.

``FhirSource.fetch`` makes them (``shared``) from values mapped once per cache entry; the executor
(``gateway/execution/shared_results.py``) and completion plans (``gateway/execution/plans.py``) keep
on each list what it completed to, per selection, so the next request with the same selection reuses
it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gateway.execution.by_identity import ByIdentity

MAX_SELECTIONS = 8
"""Selections remembered per list: a few documents (a summary, a medication view) are the norm."""


class SharedList(list[Any]):
    """A list mapped from a cached answer, shared by every request the entry serves. Never
    mutated after ``shared`` made it."""

    __slots__ = ("completed",)

    def __init__(self, items: list[Any]) -> None:
        super().__init__(items)
        # What the list completed to, by what selected it (its nodes, or a plan).
        self.completed: ByIdentity[Any] = ByIdentity(MAX_SELECTIONS)


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
