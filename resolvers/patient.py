"""``Query.patient``: one patient's summary, every section fetched concurrently, once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionNode
from strawberry.types import Info

from gateway.context import Context
from gateway.identity import IdentityNumberKind, NationalIdentityNumber
from resolvers import documents as documents_source
from resolvers import gp_registry, lab_results, prescriptions, visit_history
from resolvers.core_record import critical_information, demographics, own_registrations
from resolvers.core_record.critical_information import CriticalInformationSection
from resolvers.core_record.demographics import DemographicsSection
from resolvers.core_record.own_registrations import OwnRegistrationsSection
from resolvers.documents import DocumentsSection
from resolvers.gp_registry import GeneralPractitionerSection
from resolvers.lab_results import LabResultsSection
from resolvers.prescriptions import MedicationsSection
from resolvers.section import SourceOutcome
from resolvers.source_health import SourceHealthQuery
from resolvers.visit_history import VisitHistorySection

IdentityNumberKindType = strawberry.enum(
    IdentityNumberKind, description="Which register issued an identity number."
)

# Which searches each Patient field needs, so that Query.patient can start them all at once.
_PREFETCH: dict[str, Callable[[Context, NationalIdentityNumber], Any]] = {
    "demographics": demographics.prefetch,
    "criticalInformation": critical_information.prefetch,
    "medications": prescriptions.prefetch,
    "generalPractitioner": gp_registry.prefetch,
    "visitHistory": visit_history.prefetch,
    "documents": documents_source.prefetch,
    "labResults": lab_results.prefetch,
    "ownRegistrations": own_registrations.prefetch,
}


@strawberry.type(
    description="One patient's summary care record, gathered live from the registries."
)
class Patient:
    _nin: strawberry.Private[NationalIdentityNumber]

    @strawberry.field(description="The identity number the summary was asked for.")
    def nin(self) -> NationalIdentityNumber:
        return self._nin

    @strawberry.field(description="Which kind of identity number it is.")
    def identity_number_kind(self) -> IdentityNumberKind:
        return self._nin.kind

    @strawberry.field(description="A synthetic test number (Tenor): no real person has it.")
    def synthetic(self) -> bool:
        return self._nin.synthetic

    @strawberry.field(description="The birth date the identity number encodes.")
    def birth_date(self) -> dt.date:
        return self._nin.birth_date

    @strawberry.field(description="Name, birth date, gender and municipality (core record).")
    async def demographics(self, info: Info[Context, None]) -> DemographicsSection:
        return await demographics.demographics_section(info.context, self._nin)

    @strawberry.field(
        description="Allergies and drug reactions, critical conditions, ongoing treatment, "
        "implants and other warnings (core record)."
    )
    async def critical_information(self, info: Info[Context, None]) -> CriticalInformationSection:
        return await critical_information.critical_information_section(info.context, self._nin)

    @strawberry.field(description="Prescriptions and dispensings (Reseptformidleren).")
    async def medications(self, info: Info[Context, None]) -> MedicationsSection:
        return await prescriptions.medications_section(info.context, self._nin)

    @strawberry.field(description="The regular GP (Fastlegeregisteret).")
    async def general_practitioner(self, info: Info[Context, None]) -> GeneralPractitionerSection:
        return await gp_registry.general_practitioner_section(info.context, self._nin)

    @strawberry.field(description="Hospital visits since 2008, time and place only (NPR).")
    async def visit_history(self, info: Info[Context, None]) -> VisitHistorySection:
        return await visit_history.visit_history_section(info.context, self._nin)

    @strawberry.field(description="Epicrises, lab and imaging reports, referrals (metadata).")
    async def documents(self, info: Info[Context, None]) -> DocumentsSection:
        return await documents_source.documents_section(info.context, self._nin)

    @strawberry.field(description="Laboratory results, Covid-19 tests among them.")
    async def lab_results(self, info: Info[Context, None]) -> LabResultsSection:
        return await lab_results.lab_results_section(info.context, self._nin)

    @strawberry.field(
        description="Next of kin, communication needs and self-reported diseases (core record)."
    )
    async def own_registrations(self, info: Info[Context, None]) -> OwnRegistrationsSection:
        return await own_registrations.own_registrations_section(info.context, self._nin)

    @strawberry.field(
        description="Every upstream search made for this patient in this request and how it went,"
        " once all have finished."
    )
    async def sources(self, info: Info[Context, None]) -> list[SourceOutcome]:
        return [SourceOutcome.of(o) for o in await info.context.fetches.outcomes(self._nin.value)]


def _selected_names(info: Info[Context, None]) -> set[str]:
    """Names of the fields selected directly under this one, through fragments.

    Walks graphql-core's AST one level deep: strawberry's ``selected_fields`` converts the whole
    nested selection (hundreds of nodes for a summary) on every request.
    """
    raw = info._raw_info  # graphql-core's GraphQLResolveInfo, which strawberry wraps
    names: set[str] = set()
    pending: list[SelectionNode] = [
        selection
        for node in raw.field_nodes
        if node.selection_set is not None
        for selection in node.selection_set.selections
    ]
    while pending:
        selection = pending.pop()
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            pending.extend(selection.selection_set.selections)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = raw.fragments.get(selection.name.value)
            if fragment is not None:
                pending.extend(fragment.selection_set.selections)
    return names


@strawberry.type(description="Reading the summary care record.")
class Query(SourceHealthQuery):
    @strawberry.field(
        description="The summary of one patient. Null when the core record knows no patient "
        "with this number. Every registry the selection needs is asked at once."
    )
    async def patient(
        self,
        info: Info[Context, None],
        nin: Annotated[
            NationalIdentityNumber,
            strawberry.argument(description="The patient's national identity number."),
        ],
    ) -> Patient | None:
        ctx = info.context
        wanted = _selected_names(info)
        # The Patient search always runs: it decides whether there is a patient at all.
        existence = demographics.prefetch(ctx, nin)
        for name in wanted:
            prefetch = _PREFETCH.get(name)
            if prefetch is not None:
                prefetch(ctx, nin)
        fetched = await existence
        if fetched.outcome.error is None and fetched.value is None:
            return None
        return Patient(_nin=nin)
