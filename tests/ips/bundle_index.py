"""Resolving literal references inside a FHIR R4 Bundle, as the specification says to.

The rules (https://hl7.org/fhir/R4/bundle.html#references, §2.36.4.1), which the checks in
``tests/ips_rules.py`` and the counts in ``tests/test_node_ips.py`` share:

- ``#id`` names a resource contained in the resource that holds the reference (``#`` alone
  names that container itself);
- an absolute reference (``urn:uuid:…``, ``urn:oid:…``, ``http(s)://…``) matches an entry's
  ``fullUrl`` exactly;
- a relative ``Type/id`` is made absolute against the base of the referring entry's ``fullUrl``
  when that is a RESTful URL (``<base>/Type/id``); when the referring entry has a URN, a relative
  reference has no meaning inside the Bundle and does not resolve;
- a version-specific reference (``…/_history/v``) matches without its version, and then the
  target's ``meta.versionId`` must equal ``v``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Json = Mapping[str, Any]

# The RESTful URL regex of R4 (references.html#literal), anchored at the end of a fullUrl.
RESTFUL = re.compile(
    r"^(?P<base>(https?://([^/]+/)*))?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(/_history/(?P<version>[A-Za-z0-9\-.]{1,64}))?$"
)
UUID_URN = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
OID_URN = re.compile(r"^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$")
ABSOLUTE_URL = re.compile(r"^https?://[^/\s]+(/\S*)?$")


@dataclass(frozen=True)
class FoundReference:
    """One ``reference`` string, where it stands and which entry and resource hold it."""

    path: str
    reference: str
    entry_index: int
    container: Json


def references_in(resource: Json, path: str) -> Iterator[tuple[str, str]]:
    """Every ``Reference.reference`` string in ``resource``, with a readable path to it.

    Contained resources are walked too (their references stay the container's: they resolve
    against the container's ``fullUrl`` and its other contained resources).
    """
    for key, value in resource.items():
        here = f"{path}.{key}"
        if key == "reference" and isinstance(value, str):
            yield path, value
        elif isinstance(value, Mapping):
            yield from references_in(value, here)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    yield from references_in(item, f"{here}[{i}]")


class BundleIndex:
    """The entries of one Bundle, looked up by ``fullUrl`` under the R4 resolution rules."""

    def __init__(self, bundle: Json) -> None:
        entries = bundle.get("entry") or []
        self.entries: list[Json] = [e for e in entries if isinstance(e, Mapping)]
        self.by_full_url: dict[str, int] = {}
        for i, entry in enumerate(self.entries):
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str) and full_url not in self.by_full_url:
                self.by_full_url[full_url] = i

    def resource(self, index: int) -> Json:
        """The resource of entry ``index`` (an empty mapping when the entry has none)."""
        resource = self.entries[index].get("resource")
        return resource if isinstance(resource, Mapping) else {}

    def all_references(self) -> Iterator[FoundReference]:
        """Every reference in every entry's resource, with the entry that holds it."""
        for i in range(len(self.entries)):
            resource = self.resource(i)
            for path, reference in references_in(resource, f"Bundle.entry[{i}].resource"):
                yield FoundReference(path, reference, i, resource)

    def resolve(self, reference: str, entry_index: int, container: Json) -> Json | None:
        """The resource ``reference`` (written in entry ``entry_index``) names, or None."""
        if reference.startswith("#"):
            if reference == "#":
                return container
            for contained in container.get("contained") or []:
                if isinstance(contained, Mapping) and contained.get("id") == reference[1:]:
                    return contained
            return None
        target = self._target_index(reference, entry_index)
        return None if target is None else self.resource(target)

    def resolve_index(self, reference: str, entry_index: int) -> int | None:
        """The index of the entry ``reference`` names (contained references give None)."""
        return None if reference.startswith("#") else self._target_index(reference, entry_index)

    def _target_index(self, reference: str, entry_index: int) -> int | None:
        version: str | None = None
        restful = RESTFUL.match(reference)
        if restful and restful.group("version"):
            version = restful.group("version")
            reference = reference[: reference.index("/_history/")]
        if restful and not restful.group("base"):
            referrer = self.entries[entry_index].get("fullUrl")
            base = RESTFUL.match(referrer) if isinstance(referrer, str) else None
            if base is None or not base.group("base"):
                return None
            reference = f"{base.group('base')}{reference}"
        target = self.by_full_url.get(reference)
        if target is not None and version is not None:
            meta = self.resource(target).get("meta") or {}
            if meta.get("versionId") != version:
                return None
        return target
