"""The GP registry (Fastlegeregisteret): a patient's GP relations, with the GP and the office."""

from __future__ import annotations

from aiohttp import web

from mocks.datatypes import Resource
from mocks.faults import FaultInjector
from mocks.population import Population
from mocks.record import PatientRecord
from mocks.registry_app import create_registry_app
from mocks.search import SearchSpec, references_at
from mocks.sources import Source


def _with_general_practitioner(record: PatientRecord, patient: Resource) -> Resource:
    """The Patient as this registry holds it: ``generalPractitioner`` names the patient's GP
    relations (PractitionerRole, with their period, the GP and the office), as R4 allows."""
    roles = [
        {"reference": f"PractitionerRole/{role['id']}"}
        for role in record.practitioner_roles
        if role.get("active") is not False
    ]
    return {**patient, "generalPractitioner": roles} if roles else patient


_ROLE_TARGETS = {
    "PractitionerRole:practitioner": references_at("practitioner.reference"),
    "PractitionerRole:organization": references_at("organization.reference"),
}

SEARCHES = (
    SearchSpec(
        "Patient",
        "identifier",
        includes={"Patient:general-practitioner": references_at("generalPractitioner.reference")},
        iterate_includes=_ROLE_TARGETS,
        present=_with_general_practitioner,
    ),
    SearchSpec(
        "PractitionerRole",
        "patient:identifier",
        includes=_ROLE_TARGETS,
    ),
)


def create_app(population: Population, injector: FaultInjector | None = None) -> web.Application:
    """``GET Patient?identifier=…&_include=Patient:general-practitioner&_include:iterate=…``
    (standard) and ``GET PractitionerRole?patient:identifier=…&_include=…`` (the dialect)."""
    return create_registry_app(
        Source.GP_REGISTRY,
        population,
        SEARCHES,
        injector,
        readable=("PractitionerRole", "Practitioner", "Organization"),
    )
