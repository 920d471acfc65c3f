"""``Query.patient``: one patient's summary, every section fetched concurrently, once."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Annotated, Any, TypeVar, cast

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionNode
from strawberry.types import Info

from gateway.access import policy
from gateway.access.policy import AccessDenied, PatientAccess
from gateway.audit.events import DOCUMENT_FIELD, Outcome
from gateway.errors import GatewayError
from gateway.execution.eager import now_or_later
from gateway.graphql import input_checks
from gateway.graphql.context import Context
from gateway.graphql.section import Section, SectionStatus, SourceOutcome
from gateway.identity import IdentityNumberKind, NationalIdentityNumber
from gateway.upstream.fan_out import DeniedFetches
from resolvers import documents as documents_source
from resolvers import gp_registry, lab_results, medication_list, prescriptions, visit_history
from resolvers.core_record import critical_information, demographics, own_registrations, privacy
from resolvers.core_record.critical_information import CriticalInformationSection
from resolvers.core_record.demographics import DemographicsSection
from resolvers.core_record.own_registrations import OwnRegistrationsSection
from resolvers.documents import DocumentContent, DocumentsSection
from resolvers.gp_registry import GeneralPractitionerSection
from resolvers.lab_results import LabResultsSection
from resolvers.medication_list import MedicationListSection
from resolvers.prescriptions import MedicationsSection
from resolvers.visit_history import VisitHistorySection

IdentityNumberKindType = strawberry.enum(
    IdentityNumberKind, description="Which register issued an identity number."
)

S = TypeVar("S", bound=Section)

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
    "document": documents_source.prefetch,
    "medicationList": prescriptions.prefetch,
}
# The section whose decision governs a field that is not a section itself.
_GOVERNING_SECTION = {"document": policy.DOCUMENTS, "medicationList": policy.MEDICATIONS}

_SETTLE_TURNS = 6
"""Turns of the event loop the searches of a patient get before the sections resolve: enough
for answers from the cache (four), few enough that a live search costs nothing to wait on."""

SUMMARY_SECTIONS = tuple(name for name in _PREFETCH if name != "document")
"""Every section of the summary, by its field name: what a whole summary (the IPS document)
opens."""


def open_section(
    ctx: Context,
    nin: NationalIdentityNumber,
    access: PatientAccess,
    name: str,
    build: Callable[[Context, NationalIdentityNumber], Coroutine[Any, Any, S]],
    *,
    field: str | None = None,
) -> S | Awaitable[S]:
    """Build section ``name`` if the policy opened it, else withhold it; log either way (as
    ``field`` when another field than the section itself is governed by its decision).

    The one way a section is opened, for a GraphQL field and for the IPS document alike.
    Returns the section itself when its searches have all finished (the warm path), else an
    awaitable of it (``gateway/execution/eager.py``).
    """
    decision = access.section(name)
    logged = field or name
    if decision.denial is not None:
        ctx.audit.record(nin.value, logged, Outcome.DENIED, decision.denial.code)
        # The section's searches all answer with the denial, so nothing goes upstream.
        withheld = copy.copy(ctx)
        withheld.fetches = DeniedFetches(decision.denial)
        return now_or_later(lambda: build(withheld, nin))

    async def opened() -> S:
        section = await build(ctx, nin)
        unavailable = section.status is SectionStatus.UNAVAILABLE
        stale = section.stale_age_seconds
        ctx.audit.record(
            nin.value,
            logged,
            Outcome.ERROR if unavailable else Outcome.GRANTED,
            restricted_opened=decision.restricted_opened,
            from_cache=section.from_cache,
            stale_age_ms=round(stale * 1000) if stale is not None else None,
        )
        return section

    return now_or_later(opened)


@strawberry.type(
    description="One patient's summary care record, gathered live from the registries."
)
class Patient:
    _nin: strawberry.Private[NationalIdentityNumber]
    _access: strawberry.Private[PatientAccess]

    def _open(
        self,
        info: Info[Context, None],
        name: str,
        build: Callable[[Context, NationalIdentityNumber], Coroutine[Any, Any, S]],
        *,
        field: str | None = None,
    ) -> S:
        """Section ``name``, opened or withheld (``open_section``); typed as the section, which
        is what the schema shows, though it may be an awaitable of it
        (``gateway/execution/eager.py``)."""
        return cast(
            S, open_section(info.context, self._nin, self._access, name, build, field=field)
        )

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
    def demographics(self, info: Info[Context, None]) -> DemographicsSection:
        return self._open(info, policy.DEMOGRAPHICS, demographics.demographics_section)

    @strawberry.field(
        description="Allergies and drug reactions, critical conditions, ongoing treatment, "
        "implants and other warnings (core record)."
    )
    def critical_information(self, info: Info[Context, None]) -> CriticalInformationSection:
        return self._open(
            info, policy.CRITICAL_INFORMATION, critical_information.critical_information_section
        )

    @strawberry.field(description="Prescriptions and dispensings (Reseptformidleren).")
    def medications(self, info: Info[Context, None]) -> MedicationsSection:
        return self._open(info, policy.MEDICATIONS, prescriptions.medications_section)

    @strawberry.field(
        description="One row per medicine, joining prescriptions and dispensings, with the flags "
        "a home-care nurse acts on. Governed and logged as the medications section."
    )
    def medication_list(self, info: Info[Context, None]) -> MedicationListSection:
        return self._open(
            info,
            policy.MEDICATIONS,
            medication_list.medication_list_section,
            field="medicationList",
        )

    @strawberry.field(description="The regular GP (Fastlegeregisteret).")
    def general_practitioner(self, info: Info[Context, None]) -> GeneralPractitionerSection:
        return self._open(
            info, policy.GENERAL_PRACTITIONER, gp_registry.general_practitioner_section
        )

    @strawberry.field(description="Hospital visits since 2008, time and place only (NPR).")
    def visit_history(self, info: Info[Context, None]) -> VisitHistorySection:
        return self._open(info, policy.VISIT_HISTORY, visit_history.visit_history_section)

    @strawberry.field(description="Epicrises, lab and imaging reports, referrals (metadata).")
    def documents(self, info: Info[Context, None]) -> DocumentsSection:
        return self._open(info, policy.DOCUMENTS, documents_source.documents_section)

    @strawberry.field(description="Laboratory results, Covid-19 tests among them.")
    def lab_results(self, info: Info[Context, None]) -> LabResultsSection:
        return self._open(info, policy.LAB_RESULTS, lab_results.lab_results_section)

    @strawberry.field(
        description="Next of kin, communication needs and self-reported diseases (core record)."
    )
    def own_registrations(self, info: Info[Context, None]) -> OwnRegistrationsSection:
        return self._open(
            info, policy.OWN_REGISTRATIONS, own_registrations.own_registrations_section
        )

    @strawberry.field(
        description="Open one of the patient's documents (an id from documents.documents) and "
        "read its content. Null when the patient has no document with that id. Opening it is "
        "logged; the patient's own log shows that a document was opened, not which."
    )
    async def document(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The document's id.")],
    ) -> DocumentContent | None:
        ctx = info.context
        # Checked before it is a log record's field name: an id has one spelling, no newline.
        document_id = input_checks.entry_id("id", str(id))
        decision = self._access.section(policy.DOCUMENTS)
        field = f"{DOCUMENT_FIELD}:{document_id}"
        if decision.denial is not None:
            ctx.audit.record(self._nin.value, field, Outcome.DENIED, decision.denial.code)
            raise decision.denial
        try:
            content = await documents_source.open_document(ctx, self._nin, document_id)
        except GatewayError as error:
            ctx.audit.record(self._nin.value, field, Outcome.ERROR, error.code)
            raise
        ctx.audit.record(
            self._nin.value,
            field,
            Outcome.GRANTED,
            None if content is not None else "NOT_FOUND",
            restricted_opened=decision.restricted_opened,
        )
        return content

    @strawberry.field(
        description="Every upstream search made for this patient in this request and how it went,"
        " once all have finished."
    )
    def sources(self, info: Info[Context, None]) -> list[SourceOutcome]:
        async def outcomes() -> list[SourceOutcome]:
            return [
                SourceOutcome.of(o) for o in await info.context.fetches.outcomes(self._nin.value)
            ]

        return cast(list[SourceOutcome], now_or_later(outcomes))


def _selected_names(info: Info[Context, None]) -> set[str]:
    """Names of the fields selected directly under this one, through fragments.

    Walks graphql-core's AST one level deep: strawberry's ``selected_fields`` converts the whole
    nested selection (hundreds of nodes for a summary) on every request.
    """
    # graphql-core's GraphQLResolveInfo, which strawberry wraps and offers no public name for
    # (tests/gateway/execution/test_private_names.py holds it).
    raw = info._raw_info
    names: set[str] = set()
    spread: set[str] = set()  # each fragment once, however often it is spread
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
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in spread:
            spread.add(selection.name.value)
            fragment = raw.fragments.get(selection.name.value)
            if fragment is not None:
                pending.extend(fragment.selection_set.selections)
    return names


@strawberry.type
class PatientQuery:
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
        access = await find_patient(info.context, nin, _selected_names(info))
        return Patient(_nin=nin, _access=access) if access is not None else None


async def find_patient(
    ctx: Context, nin: NationalIdentityNumber, names: Iterable[str]
) -> PatientAccess | None:
    """The policy's decision for ``nin``, and the searches of the fields ``names`` started at
    once (those the decision opens); None when the core record knows no such patient. Both the
    GraphQL ``patient`` field and the IPS document start here."""
    access = await _decide(ctx, nin)
    # The Patient search always runs: it decides whether there is a patient at all.
    existence = demographics.prefetch(ctx, nin)
    for name in names:
        prefetch = _PREFETCH.get(name)
        section = _GOVERNING_SECTION.get(name, name)
        if prefetch is not None and access.section(section).denial is None:
            prefetch(ctx, nin)
    # The searches were started within this step, and the existence check's search finished
    # before (it is the privacy read's binding): without a few turns of the loop the sections
    # would all be resolved before any search ran, and none could finish at once
    # (``gateway/execution/eager.py``). Answers from the cache need four turns: the task starts,
    # the source's binding for this request runs, its shield passes the result on, the search
    # goes on to the cache.
    await ctx.fetches.settle(nin.value, _SETTLE_TURNS)
    fetched = await existence
    if fetched.outcome.error is None and fetched.value is None:
        ctx.audit.record(nin.value, "patient", Outcome.GRANTED, "NOT_FOUND")
        return None
    ctx.audit.record(nin.value, "patient", Outcome.GRANTED)
    return access


async def _decide(ctx: Context, nin: NationalIdentityNumber) -> PatientAccess:
    """The policy's decision for this caller and patient, logged when it denies.

    The caller's own rules are checked first, with no upstream call. Then the patient's privacy
    settings are read: if they cannot be, nothing is shown (a restriction or block unknown is
    not a restriction or block absent). No other registry hears the identity number before the
    decision, not even to find its Patient id: a reserved or blocked patient is looked up
    nowhere but in the core record, whose binding is the existence check's search, shared.
    """
    try:
        policy.check_caller(ctx.actor, ctx.stated, nin.value)
        demographics.prefetch(ctx, nin)
        settings = (await privacy.prefetch(ctx, nin)).unwrap()
        return policy.decide(ctx.actor, ctx.stated, nin.value, settings)
    except AccessDenied as denial:
        ctx.audit.record(nin.value, "patient", Outcome.DENIED, denial.code)
        raise
    except GatewayError as error:
        ctx.audit.record(nin.value, "patient", Outcome.ERROR, error.code)
        raise
