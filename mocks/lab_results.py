"""The lab results registry (MSIS lab database and the national lab-result service)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from mocks.datatypes import SYSTEM_DIAGNOSTIC_SERVICE, Resource
from mocks.faults import FaultInjector
from mocks.generate_reports import SYSTEM_OBSERVATION_CATEGORY
from mocks.population import Population
from mocks.registry_app import create_registry_app
from mocks.search import SearchSpec, references_at
from mocks.sources import Source


def category_token(system: str) -> Callable[[Resource], str | None]:
    """``category`` as a token search parameter: the ``system|code`` of the resource's category
    coding in ``system`` (the search matches that spelling exactly, as the gateway sends it)."""

    def token(resource: Resource) -> str | None:
        for concept in resource.get("category") or ():
            for coding in concept.get("coding") or ():
                if coding.get("system") == system:
                    return f"{system}|{coding.get('code')}"
        return None

    return token


def resource_id(resource: Resource) -> str | None:
    """``_id``: a comma-separated value matches any of the ids."""
    return str(resource["id"])


SEARCHES = (
    SearchSpec(
        "DiagnosticReport",
        "subject:identifier",
        includes={
            "DiagnosticReport:result": references_at("result.reference"),
            "DiagnosticReport:performer": references_at("performer.reference"),
        },
        token_params={"category": category_token(SYSTEM_DIAGNOSTIC_SERVICE)},
    ),
    SearchSpec(
        "Observation",
        "subject:identifier",
        includes={"Observation:performer": references_at("performer.reference")},
        token_params={
            "category": category_token(SYSTEM_OBSERVATION_CATEGORY),
            "_id": resource_id,
        },
    ),
)


def create_app(population: Population, injector: FaultInjector | None = None) -> web.Application:
    """``GET DiagnosticReport?subject=…&category=…|LAB&_include=DiagnosticReport:result`` (and
    ``:performer``), and ``GET Observation?subject=…&category=…|laboratory`` (or ``&_id=a,b``)."""
    return create_registry_app(Source.LAB_RESULTS, population, SEARCHES, injector)
