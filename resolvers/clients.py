"""The typed client of every source, built once per app in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from gateway.cache import UpstreamCache
from gateway.fhir import FhirSource
from gateway.fhir_write import FhirWriter
from gateway.settings import Settings
from gateway.upstream import SourceHealthReport, Upstream
from resolvers.core_record.client import CoreRecordClient
from resolvers.core_record.writer import CoreRecordWriter
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
    upstreams: tuple[Upstream, ...]
    cache: UpstreamCache
    core_record_writer: CoreRecordWriter

    @classmethod
    def build(
        cls,
        settings: Settings,
        session: aiohttp.ClientSession,
        cache: UpstreamCache | None = None,
    ) -> SourceClients:
        """Clients for every configured source, sharing one HTTP session and one cache (without
        one, a fresh memory cache of their own)."""
        settings.require_source_urls()
        sources = settings.sources
        cache = cache if cache is not None else UpstreamCache.memory(settings)
        upstreams = {
            name: Upstream(name, source, cache) for name, source in settings.sources.items()
        }

        def fhir(name: str) -> FhirSource:
            return FhirSource(name, getattr(sources, name), session, upstreams[name])

        return cls(
            prescriptions=PrescriptionsClient(fhir("prescriptions")),
            gp_registry=GpRegistryClient(fhir("gp_registry")),
            visit_history=VisitHistoryClient(fhir("visit_history")),
            documents=DocumentsClient(fhir("documents")),
            lab_results=LabResultsClient(fhir("lab_results")),
            core_record=CoreRecordClient(fhir("core_record")),
            upstreams=tuple(upstreams.values()),
            cache=cache,
            core_record_writer=CoreRecordWriter(
                FhirWriter("core_record", sources.core_record, session), fhir("core_record")
            ),
        )

    def health(self) -> list[SourceHealthReport]:
        """Each source's breaker state and recent error rate (this process's view)."""
        return [upstream.health() for upstream in self.upstreams]

    async def invalidate_patient(self, source: str, nin: str) -> None:
        """Forget every cached answer of ``source`` about the patient ``nin``: for writes that
        change the source's data."""
        await self.cache.invalidate_patient(source, nin)
