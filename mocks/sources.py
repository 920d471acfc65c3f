"""The six registries the mocks imitate, and where each one listens by default."""

from __future__ import annotations

import enum

DEFAULT_HOST = "127.0.0.1"
FHIR_BASE_PATH = "/fhir"
ADMIN_PREFIX = "/_admin"


class Source(enum.StrEnum):
    """A registry the gateway reads from; the value is the source name used in settings and logs."""

    PRESCRIPTIONS = "prescriptions"
    GP_REGISTRY = "gp_registry"
    VISIT_HISTORY = "visit_history"
    DOCUMENTS = "documents"
    LAB_RESULTS = "lab_results"
    CORE_RECORD = "core_record"


DEFAULT_PORTS: dict[Source, int] = {
    Source.PRESCRIPTIONS: 8101,
    Source.GP_REGISTRY: 8102,
    Source.VISIT_HISTORY: 8103,
    Source.DOCUMENTS: 8104,
    Source.LAB_RESULTS: 8105,
    Source.CORE_RECORD: 8106,
}


def base_url(host: str, port: int) -> str:
    """The FHIR base URL of a mock listening on ``host:port``."""
    return f"http://{host}:{port}{FHIR_BASE_PATH}"


def default_base_url(source: Source) -> str:
    """The FHIR base URL of ``source`` when the demo mocks run on their default ports."""
    return base_url(DEFAULT_HOST, DEFAULT_PORTS[source])
