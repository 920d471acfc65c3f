"""Every section of one patient's summary, fetched, decided and logged as a GraphQL read is.

The IPS document is built from exactly what ``Query.patient`` builds: the same policy decision
(``find_patient``), the same searches started at once, the same section builders and the same
access-log events (``open_section``). Only the shape of the answer differs.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway.access import policy
from gateway.access.policy import PatientAccess
from gateway.audit.events import Outcome
from gateway.graphql.context import Context
from gateway.graphql.section import Section
from gateway.identity import NationalIdentityNumber
from resolvers import (
    documents,
    gp_registry,
    lab_results,
    medication_list,
    prescriptions,
    visit_history,
)
from resolvers.core_record import critical_information, demographics, own_registrations
from resolvers.core_record.critical_information import CriticalInformationSection
from resolvers.core_record.demographics import DemographicsSection
from resolvers.core_record.own_registrations import OwnRegistrationsSection
from resolvers.documents import DocumentsSection
from resolvers.gp_registry import GeneralPractitionerSection
from resolvers.lab_results import LabResultsSection
from resolvers.medication_list import MedicationListSection
from resolvers.patient import SUMMARY_SECTIONS, find_patient, open_section
from resolvers.prescriptions import MedicationsSection
from resolvers.visit_history import VisitHistorySection

S = TypeVar("S", bound=Section)

SUMMARY_DOCUMENT_FIELD = "summaryDocument"
"""The access-log field of an IPS document fetch, beside its sections' own events: the patient
sees in their log that the summary was fetched as a document."""


@dataclass(frozen=True, slots=True)
class SummaryParts:
    """One patient's summary, section by section, as the GraphQL types hold it."""

    nin: NationalIdentityNumber
    access: PatientAccess
    demographics: DemographicsSection
    critical_information: CriticalInformationSection
    medications: MedicationsSection
    medication_list: MedicationListSection
    general_practitioner: GeneralPractitionerSection
    visit_history: VisitHistorySection
    documents: DocumentsSection
    lab_results: LabResultsSection
    own_registrations: OwnRegistrationsSection

    @property
    def restricted_opened(self) -> bool:
        """Whether a section the patient restricted was opened (consent or emergency)."""
        return any(
            self.access.section(name).restricted_opened and self.access.section(name).denial is None
            for name in policy.ALL_SECTIONS
        )


async def _settled(value: S | Awaitable[S]) -> S:
    return await value if inspect.isawaitable(value) else value


async def gather_summary(ctx: Context, nin: NationalIdentityNumber) -> SummaryParts | None:
    """Every section of ``nin``'s summary; None when the core record knows no such patient.

    Raises what ``Query.patient`` raises (a denial of the whole patient, the privacy settings
    unreadable); a section withheld or unavailable is a section that says so, as in GraphQL.
    """
    access = await find_patient(ctx, nin, SUMMARY_SECTIONS)
    if access is None:
        return None
    ctx.audit.record(nin.value, SUMMARY_DOCUMENT_FIELD, Outcome.GRANTED)

    def opened(
        name: str,
        build: Callable[[Context, NationalIdentityNumber], Coroutine[Any, Any, S]],
        field: str | None = None,
    ) -> Awaitable[S]:
        return _settled(open_section(ctx, nin, access, name, build, field=field))

    # Every search is already running (find_patient started them); these only wait and log.
    return SummaryParts(
        nin=nin,
        access=access,
        demographics=await opened(policy.DEMOGRAPHICS, demographics.demographics_section),
        critical_information=await opened(
            policy.CRITICAL_INFORMATION, critical_information.critical_information_section
        ),
        medications=await opened(policy.MEDICATIONS, prescriptions.medications_section),
        medication_list=await opened(
            policy.MEDICATIONS, medication_list.medication_list_section, "medicationList"
        ),
        general_practitioner=await opened(
            policy.GENERAL_PRACTITIONER, gp_registry.general_practitioner_section
        ),
        visit_history=await opened(policy.VISIT_HISTORY, visit_history.visit_history_section),
        documents=await opened(policy.DOCUMENTS, documents.documents_section),
        lab_results=await opened(policy.LAB_RESULTS, lab_results.lab_results_section),
        own_registrations=await opened(
            policy.OWN_REGISTRATIONS, own_registrations.own_registrations_section
        ),
    )
