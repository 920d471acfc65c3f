"""The mock population exported as plain R4 (mocks/export.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mocks.export import chosen_records, export_records, main
from mocks.fixtures import fixture
from mocks.population import Population


def _references(value: Any) -> list[dict[str, Any]]:
    """Every Reference with a literal ``reference``."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            found.append(value)
        for item in value.values():
            found += _references(item)
    elif isinstance(value, list):
        for item in value:
            found += _references(item)
    return found


def test_no_identity_number_is_written_inside_a_reference_and_every_reference_resolves() -> None:
    population = Population(size=30)
    records = chosen_records(population, 30, fixtures=True)
    bundle = export_records(records)
    resources = [entry["resource"] for entry in bundle["entry"]]
    ids = {(r["resourceType"], r["id"]) for r in resources}
    assert len(ids) == len(resources), "each resource once"
    numbers = {record.nin for record in records}
    for resource in resources:
        text = json.dumps({k: v for k, v in resource.items() if k != "identifier"})
        if resource["resourceType"] != "Patient":
            assert not any(nin in text for nin in numbers), resource["resourceType"]
        for reference in _references(resource):
            target = reference["reference"]
            if target.startswith("#"):
                continue
            resource_type, _, resource_id = target.partition("/")
            assert (resource_type, resource_id) in ids, target


def test_the_patient_names_their_gp_relation_and_subjects_name_the_patient_by_id() -> None:
    population = Population(size=1)
    record = population.fixture_record("home-care-elderly")
    bundle = export_records([record])
    resources = {
        (e["resource"]["resourceType"], e["resource"]["id"]): e["resource"] for e in bundle["entry"]
    }
    patient = resources[("Patient", record.patient_id)]
    assert patient["identifier"][0]["value"] == fixture("home-care-elderly").nin
    gp = [resources[tuple(r["reference"].split("/"))] for r in patient["generalPractitioner"]]
    assert gp and all(role["resourceType"] == "PractitionerRole" for role in gp)
    prescriptions = [r for (t, _), r in resources.items() if t == "MedicationRequest"]
    assert prescriptions
    assert {p["subject"]["reference"] for p in prescriptions} == {f"Patient/{record.patient_id}"}


def test_the_command_writes_a_bundle(tmp_path: Path) -> None:
    out = tmp_path / "population.json"
    assert main(["--patients", "3", "--out", str(out)]) == 0
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle"
    assert sum(e["resource"]["resourceType"] == "Patient" for e in bundle["entry"]) == 3
