"""The document's entries, each named by a ``urn:uuid:`` that only this document uses.

A document travels: its entries cannot point at our registries' URLs (the receiver cannot read
them) and must not reuse registry ids (two registries may both have ``Observation/1``). Each entry
gets a UUID derived from the document's own id and the entry's origin, so the same entry named
twice (a prescription that two medication rows were built from) is one entry, and every
reference made with ``reference`` resolves inside the Bundle.
"""

from __future__ import annotations

import uuid
from typing import Any


class Entries:
    """The Bundle's entries in the order they were added, the Composition first."""

    def __init__(self, document_id: uuid.UUID) -> None:
        self._namespace = document_id
        self._entries: dict[str, dict[str, Any]] = {}

    def url(self, key: str) -> str:
        """The ``fullUrl`` of the entry made for ``key`` (whether added yet or not)."""
        return f"urn:uuid:{uuid.uuid5(self._namespace, key)}"

    def add(self, key: str, resource: dict[str, Any]) -> dict[str, str]:
        """Add ``resource`` as the entry for ``key`` (the first one made for a key is kept) and
        return a Reference to it."""
        url = self.url(key)
        if key not in self._entries:
            resource = {"resourceType": resource["resourceType"], "id": url[9:], **resource}
            self._entries[key] = {"fullUrl": url, "resource": resource}
        return {"reference": url}

    def has(self, key: str) -> bool:
        return key in self._entries

    def reference(self, key: str) -> dict[str, str] | None:
        """A Reference to the entry for ``key``, if there is one."""
        return {"reference": self.url(key)} if key in self._entries else None

    def bundle_entries(self) -> list[dict[str, Any]]:
        return list(self._entries.values())
