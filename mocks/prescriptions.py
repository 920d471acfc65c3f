"""The prescriptions registry (Reseptformidleren): prescriptions and dispensings."""

from __future__ import annotations

from aiohttp import web

from mocks.faults import FaultInjector
from mocks.population import Population
from mocks.registry_app import create_registry_app
from mocks.search import SearchSpec, references_at
from mocks.sources import Source

SEARCHES = (
    SearchSpec(
        "MedicationRequest",
        "subject:identifier",
        includes={"MedicationRequest:medication": references_at("medicationReference.reference")},
    ),
    SearchSpec(
        "MedicationDispense",
        "subject:identifier",
        includes={"MedicationDispense:medication": references_at("medicationReference.reference")},
    ),
)


def create_app(population: Population, injector: FaultInjector | None = None) -> web.Application:
    """``GET MedicationRequest|MedicationDispense?subject:identifier=system|value``, with
    ``_include=MedicationRequest:medication`` / ``MedicationDispense:medication``."""
    return create_registry_app(Source.PRESCRIPTIONS, population, SEARCHES, injector)
