"""The document registry (the health trusts' archives, via a FHIR MHD facade)."""

from __future__ import annotations

from aiohttp import web

from mocks.faults import FaultInjector
from mocks.population import Population
from mocks.registry_app import create_registry_app
from mocks.search import SearchSpec, references_at
from mocks.sources import Source

SEARCHES = (
    SearchSpec(
        "DocumentReference",
        "subject:identifier",
        includes={"DocumentReference:author": references_at("author.reference")},
    ),
)


def create_app(population: Population, injector: FaultInjector | None = None) -> web.Application:
    """``GET DocumentReference?subject=…&_include=DocumentReference:author`` and
    ``GET Binary/<id>`` for the content."""
    return create_registry_app(Source.DOCUMENTS, population, SEARCHES, injector, binary=True)
