"""The mock population exported as plain FHIR R4, for loading into any FHIR server.

The registries' dialect writes the identity number inside references to the patient
(``subject: {identifier: …}``). A standard R4 server refers to patients by id, so the export
rewrites every reference to the patient as ``Patient/<id>`` (keeping its display), gives the
Patient its ``generalPractitioner`` (the GP relations the GP registry holds), and writes each
shared resource (practitioners, organisations) once. Document content becomes ``Binary``
resources. Nothing else changes: the same ids, codes and dates, so a summary read from a server
loaded with the export can be compared field for field with one read from the mocks.

    python -m mocks.export --fixtures --patients 20 --out population.json
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mocks.datatypes import Resource
from mocks.fixtures import FIXTURES
from mocks.population import Population
from mocks.record import PatientRecord


def plain_r4(record: PatientRecord) -> list[Resource]:
    """Every resource of ``record`` (and its document content) in plain R4 shape."""
    system = _number_system(record)
    resources = [_by_id(copy.deepcopy(r), system, record) for r in record.all_resources()]
    roles = [
        {"reference": f"PractitionerRole/{role['id']}"}
        for role in record.practitioner_roles
        if role.get("active") is not False
    ]
    for resource in resources:
        if resource["resourceType"] == "Patient" and roles:
            resource["generalPractitioner"] = roles
    resources += [
        {
            "resourceType": "Binary",
            "id": binary.id,
            "contentType": binary.content_type,
            "data": base64.b64encode(binary.data).decode("ascii"),
        }
        for binary in record.binaries.values()
    ]
    return resources


def export_records(records: Iterable[PatientRecord]) -> Resource:
    """A ``collection`` Bundle of the records in plain R4, each resource once."""
    seen: dict[tuple[str, str], Resource] = {}
    for record in records:
        for resource in plain_r4(record):
            seen.setdefault((resource["resourceType"], resource["id"]), resource)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": resource} for resource in seen.values()],
    }


def chosen_records(population: Population, patients: int, *, fixtures: bool) -> list[PatientRecord]:
    """The first ``patients`` generated records, and every fixture's when ``fixtures``."""
    records = [population.record_at(index) for index in range(min(patients, len(population)))]
    if fixtures:
        records += [population.fixture_record(f.key) for f in FIXTURES]
    return records


def _number_system(record: PatientRecord) -> str:
    patient = record.patient[0]
    return next(str(i["system"]) for i in patient["identifier"] if i.get("value") == record.nin)


def _by_id(value: Any, system: str, record: PatientRecord) -> Any:
    """``value`` with each Reference to the patient by number rewritten as one by id."""
    if isinstance(value, list):
        return [_by_id(item, system, record) for item in value]
    if not isinstance(value, dict):
        return value
    identifier = value.get("identifier")
    if (
        isinstance(identifier, dict)
        and identifier.get("system") == system
        and identifier.get("value") == record.nin
        and "reference" not in value
    ):
        reference: Resource = {"reference": f"Patient/{record.patient_id}"}
        if "display" in value:
            reference["display"] = value["display"]
        return reference
    return {key: _by_id(item, system, record) for key, item in value.items()}


def main(argv: list[str] | None = None) -> int:
    """``python -m mocks.export``: write the export as one Bundle (JSON)."""
    parser = argparse.ArgumentParser(prog="python -m mocks.export", description=__doc__)
    parser.add_argument("--patients", type=int, default=20, help="generated patients (first N)")
    parser.add_argument("--fixtures", action="store_true", help="add every fixture patient")
    parser.add_argument("--seed", type=int, default=2026, help="the population's seed")
    parser.add_argument("--out", type=Path, help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    population = Population(seed=args.seed, size=max(args.patients, 1))
    bundle = export_records(chosen_records(population, args.patients, fixtures=args.fixtures))
    text = json.dumps(bundle, ensure_ascii=False)
    if args.out is None:
        sys.stdout.write(text + "\n")
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
