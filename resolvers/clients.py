"""The typed client of every source, built once per app in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from gateway.fhir import FhirSource
from gateway.settings import Settings
from resolvers.core_record.client import CoreRecordClient
from resolvers.documents import DocumentsClient
from resolvers.gp_registry import GpRegistryClient
from resolvers.lab_results import LabResultsClient
from resolvers.prescriptions import PrescriptionsClient
from resolvers.visit_history import VisitHistoryClient


@dataclass(frozen=True, slots=True)
class SourceClients:
    """One client per registry; the field names are the sources' names in settings."""

    prescriptions: PrescriptionsClient
    gp_registry: GpRegistryClient
    visit_history: VisitHistoryClient
    documents: DocumentsClient
    lab_results: LabResultsClient
    core_record: CoreRecordClient

    @classmethod
    def build(cls, settings: Settings, session: aiohttp.ClientSession) -> SourceClients:
        """Clients for every configured source, sharing one HTTP session."""
        settings.require_source_urls()
        sources = settings.sources

        def fhir(name: str) -> FhirSource:
            return FhirSource(name, getattr(sources, name), session)

        return cls(
            prescriptions=PrescriptionsClient(fhir("prescriptions")),
            gp_registry=GpRegistryClient(fhir("gp_registry")),
            visit_history=VisitHistoryClient(fhir("visit_history")),
            documents=DocumentsClient(fhir("documents")),
            lab_results=LabResultsClient(fhir("lab_results")),
            core_record=CoreRecordClient(fhir("core_record")),
        )
