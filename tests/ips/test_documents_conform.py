"""Every document the gateway makes conforms: for every fixture patient, and for every policy and
fault case, the IPS rules hold (``rules.py``), it parses as FHIR (``validation.py``), and Medplum,
an independent FHIR library, reads the same sections with the same counts (``medplum.py``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from mocks.faults import Fault, FaultKind
from mocks.fixtures import FIXTURES, fixture
from mocks.runner import MockRegistries
from mocks.sources import Source
from tests.conftest import GatewayServer
from tests.ips.medplum import medplum_counts
from tests.ips.rules import ips_problems
from tests.ips.support import (
    CONSENT,
    D_NUMBER_SYSTEM,
    NIN_SYSTEM,
    fetch_document,
    resources,
    sections,
)
from tests.ips.validation import r4_problems

SUMMARY_FIXTURES = [f.key for f in FIXTURES if f.key != "reserved"]
ELDERLY = fixture("home-care-elderly")


def _conforms(document: dict[str, Any]) -> None:
    assert ips_problems(document) == []
    assert r4_problems(document) == []
    counts = medplum_counts(document)
    assert counts["unresolved"] == []
    read = counts["sections"]
    for code, section in sections(document).items():
        entries = len(section.get("entry", []))
        assert read[code]["entries"] == read[code]["resolved"] == entries, code
        types = Counter(
            resources(document)[e["reference"]]["resourceType"] for e in section.get("entry", [])
        )
        assert read[code]["types"] == dict(types), code
        reason = section.get("emptyReason")
        assert read[code]["emptyReason"] == (reason["coding"][0]["code"] if reason else None)


async def _document(
    gateway: GatewayServer, nin: str, persona: str = "home-care-gp", **headers: str
) -> dict[str, Any]:
    system = D_NUMBER_SYSTEM if int(nin[0]) >= 4 else NIN_SYSTEM
    code, document = await fetch_document(
        gateway, nin, persona=persona, headers=headers, system=system
    )
    assert code == 200, document
    return document


@pytest.mark.parametrize("key", SUMMARY_FIXTURES)
async def test_every_fixture_patients_document_conforms(gateway: GatewayServer, key: str) -> None:
    _conforms(await _document(gateway, fixture(key).nin, **CONSENT))


@pytest.mark.parametrize(
    ("persona", "key", "headers"),
    [
        ("home-care-gp", "restricted-sections", {}),  # restricted: withheld
        ("pharmacist", "home-care-elderly", CONSENT),  # outside the role: withheld
        ("patient", "home-care-elderly", {}),  # the patient's own, documents withheld
    ],
)
async def test_withheld_sections_conform(
    gateway: GatewayServer, persona: str, key: str, headers: dict[str, str]
) -> None:
    document = await _document(gateway, fixture(key).nin, persona, **headers)
    assert any("emptyReason" in s for s in sections(document).values())
    _conforms(document)


@pytest.mark.parametrize(
    "source",
    [
        Source.PRESCRIPTIONS,
        Source.GP_REGISTRY,
        Source.VISIT_HISTORY,
        Source.DOCUMENTS,
        Source.LAB_RESULTS,
    ],
)
async def test_a_document_with_a_registry_down_conforms(
    gateway: GatewayServer, registries: MockRegistries, source: Source
) -> None:
    await registries.set_fault(source, Fault(FaultKind.HTTP_500))
    document = await _document(gateway, ELDERLY.nin)
    unavailable = [
        s
        for s in sections(document).values()
        if s.get("emptyReason", {}).get("coding", [{}])[0].get("code") == "unavailable"
    ]
    assert unavailable, "the registry's section says it is unavailable"
    _conforms(document)


async def test_a_partial_section_conforms(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    # The dispensings fail, the prescriptions arrive: the medication list is partial.
    await registries.set_fault(
        Source.PRESCRIPTIONS,
        Fault(FaultKind.HTTP_500, resource_types=frozenset({"MedicationDispense"})),
    )
    document = await _document(gateway, ELDERLY.nin)
    medicines = sections(document)["10160-0"]
    assert medicines["entry"], "rows built from the prescriptions"
    _conforms(document)
