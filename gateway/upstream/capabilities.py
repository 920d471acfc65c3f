"""What a FHIR server says it can do: its CapabilityStatement (``GET [base]/metadata``).

Read once per source and kept (``FhirSource.capabilities``): it picks how patients are bound
(``gateway/upstream/binding.py``), tells whether the core record can hold privacy settings
(Consent), and is shown in ``sourceHealth``. A server that publishes none (404) is taken to support
the standard searches; it then fails loudly on the first search it cannot answer, never silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class TypeCapability:
    """What the server offers for one resource type."""

    search_params: frozenset[str]
    includes: frozenset[str]
    search_chains: bool = False


@dataclass(frozen=True, slots=True)
class Capabilities:
    """A source's CapabilityStatement, as far as the gateway uses it."""

    published: bool
    """False when the server has no CapabilityStatement: nothing below is known."""
    software: str | None = None
    fhir_version: str | None = None
    types: Mapping[str, TypeCapability] = field(default_factory=dict)
    batch: bool = False
    """The server takes a ``batch`` Bundle (``gateway/upstream/batch.py``)."""

    @classmethod
    def unpublished(cls) -> Capabilities:
        """For a server without ``/metadata``: everything standard is assumed, nothing known."""
        return cls(published=False)

    @classmethod
    def from_statement(cls, statement: Mapping[str, Any]) -> Capabilities:
        """Read a CapabilityStatement (R4). Raises ``TypeError``/``ValueError`` on one that is
        not shaped as FHIR says."""
        types: dict[str, TypeCapability] = {}
        batch = False
        for rest in _list(statement.get("rest")):
            if rest.get("mode", "server") != "server":
                continue
            # Only ``batch``: a server offering ``transaction`` alone may refuse a batch, and a
            # transaction fails whole where a batch's entries fail one by one.
            batch = batch or any(i.get("code") == "batch" for i in _list(rest.get("interaction")))
            for resource in _list(rest.get("resource")):
                name = resource.get("type")
                if not isinstance(name, str):
                    raise ValueError("a CapabilityStatement resource without a type")
                params = {
                    p["name"]
                    for p in _list(resource.get("searchParam"))
                    if isinstance(p.get("name"), str)
                }
                types[name] = TypeCapability(
                    frozenset(params),
                    frozenset(i for i in resource.get("searchInclude") or () if isinstance(i, str)),
                    bool(resource.get("searchChain")),
                )
        software = statement.get("software")
        return cls(
            published=True,
            software=software.get("name") if isinstance(software, Mapping) else None,
            fhir_version=statement.get("fhirVersion"),
            types=types,
            batch=batch,
        )

    def serves(self, resource_type: str) -> bool:
        """Whether the server offers ``resource_type`` (assumed when nothing is published)."""
        return not self.published or resource_type in self.types

    def searches_by(self, resource_type: str, param: str) -> bool:
        """Whether the server lists ``param`` for ``resource_type``: assumed when it publishes
        nothing, or lists no parameters for the type (many servers list none)."""
        if not self.published:
            return True
        found = self.types.get(resource_type)
        if found is None:
            return False
        return not found.search_params or param in found.search_params


def _list(value: Any) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise TypeError("a CapabilityStatement list is not a list of objects")
    return value


def require_consent(capabilities: Capabilities) -> None:
    """Refuse a core record whose server does not offer Consent (privacy settings), for a
    deployment that has not said where they are enforced instead."""
    if not capabilities.serves("Consent"):
        raise ConfigurationError(
            "the core record's FHIR server does not offer Consent, where patients' privacy "
            "settings are read: set GATEWAY_SOURCES__CORE_RECORD__PRIVACY_ENFORCED_BY to where "
            "they are enforced instead, or point core_record at a server with Consent"
        )
