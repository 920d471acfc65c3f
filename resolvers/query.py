"""The root ``Query``: every reading the gateway offers, one base type per concern."""

from __future__ import annotations

import strawberry

from resolvers.access_log import AccessLogQuery
from resolvers.patient import PatientQuery
from resolvers.patient_status import PatientStatusQuery
from resolvers.source_health import SourceHealthQuery


@strawberry.type(
    description="Reading the summary care record, its access log, and the registries' health."
)
class Query(PatientQuery, PatientStatusQuery, AccessLogQuery, SourceHealthQuery):
    pass
