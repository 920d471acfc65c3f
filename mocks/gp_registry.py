"""The GP registry (Fastlegeregisteret): a patient's GP relations, with the GP and the office."""

from __future__ import annotations

from aiohttp import web

from mocks.faults import FaultInjector
from mocks.population import Population
from mocks.registry_app import create_registry_app
from mocks.search import SearchSpec, references_at
from mocks.sources import Source

SEARCHES = (
    SearchSpec(
        "PractitionerRole",
        "patient:identifier",
        includes={
            "PractitionerRole:practitioner": references_at("practitioner.reference"),
            "PractitionerRole:organization": references_at("organization.reference"),
        },
    ),
)


def create_app(population: Population, injector: FaultInjector | None = None) -> web.Application:
    """``GET PractitionerRole?patient:identifier=…&_include=PractitionerRole:practitioner&…``."""
    return create_registry_app(Source.GP_REGISTRY, population, SEARCHES, injector)
