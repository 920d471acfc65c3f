"""The official HL7 IPS example Bundles kept in ``tests/data/ips/`` (see its README)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "ips"

MINIMAL = "bundle-minimal"  # urn:uuid fullUrls and references, three required sections
NO_INFO = "bundle-no-info-required-sections"  # RESTful fullUrls, relative references, emptyReason
FULL = "IPS-bundle-01"  # six sections, Medication via medicationReference, narrative-only section
ALL = (MINIMAL, NO_INFO, FULL)


def example(name: str) -> dict[str, Any]:
    """A fresh copy of one example Bundle (tests mutate it freely)."""
    bundle: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(bundle)


def entry_of(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """The first entry whose resource has ``resource_type``."""
    return next(e for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type)


def section_of(bundle: dict[str, Any], loinc: str) -> dict[str, Any]:
    """The Composition's section coded ``loinc``."""
    sections = bundle["entry"][0]["resource"]["section"]
    return next(s for s in sections if s["code"]["coding"][0]["code"] == loinc)
