"""The visit history (Norsk pasientregister): when and where, never why."""

from __future__ import annotations

from aiohttp import web

from mocks.faults import FaultInjector
from mocks.population import Population
from mocks.registry_app import create_registry_app
from mocks.search import SearchSpec, period_interval
from mocks.sources import Source

SEARCHES = (SearchSpec("Encounter", "subject:identifier", date_params={"date": period_interval}),)


def create_app(population: Population, injector: FaultInjector | None = None) -> web.Application:
    """``GET Encounter?subject:identifier=…&date=ge2008-01-01`` (``date`` matches the period)."""
    return create_registry_app(Source.VISIT_HISTORY, population, SEARCHES, injector)
