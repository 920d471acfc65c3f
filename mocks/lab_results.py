"""The lab results registry (MSIS lab database and the national lab-result service)."""

from __future__ import annotations

from aiohttp import web

from mocks.faults import FaultInjector
from mocks.population import Population
from mocks.registry_app import create_registry_app
from mocks.search import SearchSpec, references_at
from mocks.sources import Source

SEARCHES = (
    SearchSpec(
        "DiagnosticReport",
        "subject:identifier",
        includes={"DiagnosticReport:result": references_at("result.reference")},
    ),
)


def create_app(population: Population, injector: FaultInjector | None = None) -> web.Application:
    """``GET DiagnosticReport?subject:identifier=…&_include=DiagnosticReport:result``."""
    return create_registry_app(Source.LAB_RESULTS, population, SEARCHES, injector)
