"""How a mock registry behaves as a FHIR server: the mode it runs in (switchable at run time).

``dialect`` (the default) is the Norwegian registries as they are: every patient parameter is
accepted (``subject=Patient/<id>``, chained ``subject:Patient.identifier=``, the dialect's
``subject:identifier=``), references to the patient carry the identity number, and an unknown
parameter is answered with 400. The other modes imitate servers the gateway must also read
correctly, or must refuse to trust:

``standard``
    A plain, lenient R4 server. References to the patient are written by id only
    (``{"reference": "Patient/<id>"}``; rewritten as the response is made, the stored data is
    untouched), so the ``:identifier`` modifier, which matches only identifiers written inside
    references, finds nothing (an empty searchset). An unknown parameter is ignored: the answer
    carries an OperationOutcome entry (``search.mode = "outcome"``, severity ``warning``,
    diagnostics naming the parameter) and its ``self`` link leaves the parameter out.
``no-include``
    Like ``dialect``, but ``_include`` and ``_include:iterate`` are ignored without a word: no
    included resources, and a ``self`` link without them.
``wrong-patient``
    A lenient server that ignores the patient parameter altogether: the answer holds the asked
    patient's resources and those of another: the next patient in the population (counting
    from patient 0 after a fixture) that has resources of the searched type. Patient searches
    too. Its ``self`` link echoes every parameter sent, so nothing in the Bundle says anything
    was ignored. Other unknown parameters pass silently.
``strict``
    A strict R4 server: references by id as in ``standard``, only standard parameters, and the
    dialect's ``:identifier`` modifier is answered with 400 like any other unknown parameter.

``ServerMode.batch`` (on unless switched off) makes the registry take a FHIR ``batch`` and say so
in its CapabilityStatement (``mocks/batch.py``); off, it answers a batch with 405 and the gateway
sends each search alone.

``ServerMode.unknown_params`` names search parameters the server is to not know on top of that
(as if they were not in its search specs, nor in its CapabilityStatement): ``standard`` then
ignores and reports them, ``dialect``, ``no-include`` and ``strict`` answer 400, and
``wrong-patient`` ignores them silently. With it a test makes a registry drop a filter the
gateway relies on (``date`` on Encounter, ``status`` on Consent).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class Mode(enum.StrEnum):
    """How the registry answers searches (see the module docstring)."""

    DIALECT = "dialect"
    STANDARD = "standard"
    NO_INCLUDE = "no-include"
    WRONG_PATIENT = "wrong-patient"
    STRICT = "strict"

    @property
    def references_by_id(self) -> bool:
        """Whether references to the patient are written ``Patient/<id>`` only."""
        return self in (Mode.STANDARD, Mode.STRICT)


@dataclass(frozen=True, slots=True)
class ServerMode:
    """A mode, and the search parameters the registry does not know in it."""

    mode: Mode = Mode.DIALECT
    unknown_params: frozenset[str] = frozenset()
    batch: bool = True
    """Whether the registry takes a FHIR ``batch`` (``POST [base]``) and says so in its
    CapabilityStatement, as most R4 servers do."""

    @classmethod
    def of(cls, mode: Mode | str | ServerMode, unknown_params: Iterable[str] = ()) -> ServerMode:
        """``mode`` as a ``ServerMode`` (a name or a ``Mode``, with ``unknown_params``)."""
        if isinstance(mode, ServerMode):
            return mode
        return cls(Mode(mode), frozenset(unknown_params))

    @classmethod
    def from_json(cls, data: object) -> ServerMode:
        """A mode from the admin route's JSON; raises ``ValueError`` on anything odd."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        unknown = set(data) - {"mode", "unknown_params", "batch"}
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        name = data.get("mode", Mode.DIALECT.value)
        if name not in set(Mode):
            raise ValueError(f"mode must be one of: {', '.join(m.value for m in Mode)}")
        params = data.get("unknown_params", [])
        if not isinstance(params, list) or not all(isinstance(p, str) and p for p in params):
            raise ValueError("unknown_params must be a list of search parameter names")
        batch = data.get("batch", True)
        if not isinstance(batch, bool):
            raise ValueError("batch must be true or false")
        return cls(Mode(name), frozenset(params), batch)

    def to_json(self) -> dict[str, Any]:
        """The mode as the admin route shows it."""
        return {
            "mode": self.mode.value,
            "unknown_params": sorted(self.unknown_params),
            "batch": self.batch,
        }


DIALECT = ServerMode()
"""The default: today's registries."""
