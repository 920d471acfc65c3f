"""The root ``Query``: every reading the gateway offers, one base type per concern."""

from __future__ import annotations

import strawberry

from resolvers.access_log import AccessLogQuery
from resolvers.patient import PatientQuery
from resolvers.patient_status import PatientStatusQuery


@strawberry.type(description="Reading the summary care record and its access log.")
class Query(PatientQuery, PatientStatusQuery, AccessLogQuery):
    pass
