"""The core record (kjernejournal): patient, critical information, own registrations, privacy."""

from __future__ import annotations

from aiohttp import web

from mocks.faults import FaultInjector
from mocks.population import Population
from mocks.registry_app import create_registry_app
from mocks.search import SearchSpec, status_of
from mocks.sources import Source

SEARCHES = (
    SearchSpec("Patient", "identifier"),
    SearchSpec("AllergyIntolerance", "patient:identifier"),
    SearchSpec("Condition", "subject:identifier"),
    SearchSpec("Procedure", "subject:identifier"),
    SearchSpec("DeviceUseStatement", "subject:identifier"),
    SearchSpec("Flag", "subject:identifier"),
    SearchSpec("RelatedPerson", "patient:identifier"),
    SearchSpec("Consent", "patient:identifier", token_params={"status": status_of}),
)


def create_app(population: Population, injector: FaultInjector | None = None) -> web.Application:
    """``GET Patient?identifier=…``, the critical-information and privacy searches, and the
    writes of critical information, own registrations and privacy settings."""
    return create_registry_app(Source.CORE_RECORD, population, SEARCHES, injector, writable=True)
