"""Medplum's reading of each official IPS example agrees with counts made here in Python."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.ips.bundle_index import BundleIndex
from tests.ips.examples import ALL, MINIMAL, NO_INFO, example, section_of
from tests.ips.medplum import medplum_counts
from tests.ips.vocabulary import LOINC


def python_counts(bundle: dict[str, Any]) -> dict[str, Any]:
    """The same counts as ``ips_counts.mjs``, resolved by ``BundleIndex`` (R4 rules)."""
    index = BundleIndex(bundle)
    sections: dict[str, Any] = {}
    unresolved: list[str] = []
    for section in bundle["entry"][0]["resource"]["section"]:
        code = next(c["code"] for c in section["code"]["coding"] if c["system"] == LOINC)
        types: Counter[str] = Counter()
        for entry in section.get("entry", []):
            target = index.resolve_index(entry["reference"], 0)
            if target is None:
                unresolved.append(f"{code}: {entry['reference']}")
            else:
                types[index.resource(target)["resourceType"]] += 1
        reason = (section.get("emptyReason") or {}).get("coding", [{}])[0].get("code")
        sections[code] = {
            "entries": len(section.get("entry", [])),
            "resolved": sum(types.values()),
            "emptyReason": reason,
            "types": dict(types),
        }
    return {"sections": sections, "unresolved": unresolved}


@pytest.mark.parametrize("name", ALL)
def test_medplum_counts_each_official_example_as_python_does(name: str) -> None:
    bundle = example(name)
    counts = medplum_counts(bundle)
    assert counts == python_counts(bundle)
    assert counts["unresolved"] == []
    assert sum(s["entries"] for s in counts["sections"].values()) > 0


def test_medplum_reports_a_section_entry_that_does_not_resolve() -> None:
    bundle = example(MINIMAL)
    section_of(bundle, "48765-2")["entry"].append({"reference": "AllergyIntolerance/elsewhere"})
    counts = medplum_counts(bundle)
    assert counts == python_counts(bundle)
    assert counts["unresolved"] == ["48765-2: AllergyIntolerance/elsewhere"]
    assert counts["sections"]["48765-2"] == {
        "entries": 2,
        "resolved": 1,
        "emptyReason": None,
        "types": {"AllergyIntolerance": 1},
    }


def test_medplum_reads_empty_reasons_and_relative_references_of_the_no_info_example() -> None:
    counts = medplum_counts(example(NO_INFO))
    assert counts["sections"]["48765-2"] == {
        "entries": 0,
        "resolved": 0,
        "emptyReason": "unavailable",
        "types": {},
    }
    assert counts["sections"]["11369-6"]["types"] == {"Immunization": 2}
