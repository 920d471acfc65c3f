"""The typed client of every source, built once per app in the lifespan."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass

import aiohttp

from gateway.errors import SourceError
from gateway.settings import Settings
from gateway.upstream.cache import UpstreamCache
from gateway.upstream.capabilities import require_consent
from gateway.upstream.credentials import build_credentials
from gateway.upstream.fhir import FhirSource
from gateway.upstream.fhir_write import FhirWriter
from gateway.upstream.guard import SourceHealthReport, Upstream
from resolvers.core_record.client import CoreRecordClient
from resolvers.core_record.writer import CoreRecordWriter
from resolvers.documents import DocumentsClient
from resolvers.gp_registry import GpRegistryClient
from resolvers.lab_results import LabResultsClient
from resolvers.prescriptions import PrescriptionsClient
from resolvers.visit_history import VisitHistoryClient

log = logging.getLogger("gateway.sources")


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
    sources: tuple[FhirSource, ...]
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

        # One FhirSource per registry: its patient bindings and CapabilityStatement are shared
        # by every client of that registry (the core record's reader and writer).
        # Each registry's credentials are shared by its reader and writer: one token cache.
        credentials = {
            name: build_credentials(name, source, session) for name, source in sources.items()
        }
        fhir = {
            name: FhirSource(
                name, getattr(sources, name), session, upstreams[name], credentials[name]
            )
            for name in upstreams
        }
        return cls(
            prescriptions=PrescriptionsClient(fhir["prescriptions"]),
            gp_registry=GpRegistryClient(fhir["gp_registry"]),
            visit_history=VisitHistoryClient(fhir["visit_history"]),
            documents=DocumentsClient(fhir["documents"]),
            lab_results=LabResultsClient(fhir["lab_results"]),
            core_record=CoreRecordClient(
                fhir["core_record"], sources.core_record.privacy_enforced_by
            ),
            upstreams=tuple(upstreams.values()),
            sources=tuple(fhir.values()),
            cache=cache,
            core_record_writer=CoreRecordWriter(
                FhirWriter("core_record", sources.core_record, session, credentials["core_record"]),
                fhir["core_record"],
            ),
        )

    def source(self, name: str) -> FhirSource:
        """The FHIR client of the source ``name``."""
        return next(source for source in self.sources if source.name == name)

    def health(self) -> list[SourceHealthReport]:
        """Each source's breaker state and recent error rate (this process's view), how it
        binds patients and, for the core record, where privacy settings come from."""
        return [
            dataclasses.replace(
                source.upstream.health(),
                patient_binding=None if source.binding_mode is None else source.binding_mode.value,
                privacy_settings=self.core_record.privacy_source
                if source.name == "core_record"
                else None,
            )
            for source in self.sources
        ]

    async def check_privacy_support(self) -> None:
        """Refuse to start when the core record cannot hold privacy settings (it publishes a
        CapabilityStatement without Consent) and the deployment has not said where they are
        enforced instead: every summary would otherwise fail closed, or worse, be read without
        the patient's blocks. A core record that cannot be reached now is asked again later
        (its privacy reads fail closed meanwhile)."""
        if self.core_record.privacy_enforced_by is not None:
            return
        source = next(s for s in self.sources if s.name == "core_record")
        try:
            capabilities = await source.capabilities()
        except SourceError as error:
            log.warning("core_record: its CapabilityStatement could not be read (%s)", error.code)
            return
        require_consent(capabilities)

    async def learn_capabilities(self) -> None:
        """Read every source's CapabilityStatement (how it binds patients, what it searches);
        a source that cannot be reached now is asked when a request first needs it."""
        results = await asyncio.gather(
            *(source.capabilities() for source in self.sources), return_exceptions=True
        )
        for source, result in zip(self.sources, results, strict=True):
            if isinstance(result, BaseException):
                reason = result.code if isinstance(result, SourceError) else type(result).__name__
                log.warning(
                    "%s: its CapabilityStatement could not be read (%s)", source.name, reason
                )
            else:
                log.info("%s: patients are bound by %s", source.name, source.binding_mode)

    async def invalidate_patient(self, source: str, nin: str) -> None:
        """Forget every cached answer of ``source`` about the patient ``nin``: for writes that
        change the source's data."""
        await self.cache.invalidate_patient(source, nin)
