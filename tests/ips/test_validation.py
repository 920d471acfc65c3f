"""``r4_problems`` passes the official HL7 IPS examples and names the resource of each error."""

from __future__ import annotations

import pytest

from tests.ips.examples import ALL, MINIMAL, entry_of, example
from tests.ips.validation import r4_problems


@pytest.mark.parametrize("name", ALL)
def test_official_examples_are_valid_r4_structures(name: str) -> None:
    assert r4_problems(example(name)) == []


def test_an_error_inside_an_entry_names_that_resource_once() -> None:
    bundle = example(MINIMAL)
    condition = entry_of(bundle, "Condition")["resource"]
    condition["onsetDateTime"] = "yesterday"
    problems = r4_problems(bundle)
    assert len(problems) == 1
    assert problems[0].startswith(f"Bundle.entry[4].resource (Condition/{condition['id']}): ")
    assert "onsetDateTime" in problems[0]


def test_an_unknown_element_and_a_bad_bundle_timestamp_are_both_reported() -> None:
    bundle = example(MINIMAL)
    bundle["timestamp"] = "now"
    entry_of(bundle, "Practitioner")["resource"]["nickname"] = "Doc"
    problems = r4_problems(bundle)
    assert any(p.startswith("Bundle: timestamp: ") for p in problems), problems
    assert any("(Practitioner/" in p and "nickname" in p for p in problems), problems


def test_a_resource_type_the_r4b_models_lack_is_reported_not_passed() -> None:
    bundle = example(MINIMAL)
    entry_of(bundle, "Organization")["resource"]["resourceType"] = "MedicinalProduct"
    problems = r4_problems(bundle)
    assert any("'MedicinalProduct' is not an R4B resource type" in p for p in problems), problems
