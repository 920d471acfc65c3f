"""Registering, updating and retiring critical information (doctors; nurses some treatments).

Each mutation: validate every input (BAD_USER_INPUT naming the field, nothing written) → the
policy (``gateway/access/policy.py``: ``check_critical_kind`` before anything is read, then
``check_critical_writer`` with the patient's privacy settings and, for an update, the entry as
it is) → ``change.apply`` (intent logged, written, cache invalidated, outcome logged).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.access import policy
from gateway.access.policy import AccessDenied, SectionAccess
from gateway.audit.events import Outcome
from gateway.errors import EntryNotFound, GatewayError
from gateway.graphql import input_checks
from gateway.graphql.context import Context
from gateway.identity import NationalIdentityNumber
from resolvers.core_record import change, privacy
from resolvers.core_record import fhir_changes as fhir
from resolvers.core_record.change_types import ChangeResult, IdempotencyKey, key_of, result
from resolvers.core_record.critical_inputs import (
    AllergyInput,
    CriticalConditionInput,
    CriticalKind,
    CriticalUpdateInput,
    EntryRef,
    ImplantInput,
    OngoingTreatmentInput,
    ProcedureChangeInput,
    RetireReason,
)
from resolvers.core_record.writer import Entry, Written

FIELD = change.CRITICAL_INFORMATION
_TEXT = 500  # longest free text accepted (notes, reactions, descriptions)
_NAME = 200  # longest name (an agent, a device, a condition's display)


_RESOURCE_TYPE = {
    CriticalKind.ALLERGY: "AllergyIntolerance",
    CriticalKind.CRITICAL_CONDITION: "Condition",
    CriticalKind.ONGOING_TREATMENT: "Procedure",
    CriticalKind.IMPLANT: "DeviceUseStatement",
    CriticalKind.PROCEDURE_CHANGE: "Procedure",
}
_FIELDS_BY_KIND = {
    CriticalKind.ALLERGY: {"note", "criticality", "verification", "reaction", "severity"},
    CriticalKind.CRITICAL_CONDITION: {"note", "verification"},
    CriticalKind.ONGOING_TREATMENT: {"note", "status"},
    CriticalKind.IMPLANT: {"note"},
    CriticalKind.PROCEDURE_CHANGE: {"note", "status"},
}


def _of_kind(entry: Entry, kind: CriticalKind) -> bool:
    resource = entry.resource
    if entry.resource_type != _RESOURCE_TYPE[kind]:
        return False
    if kind is CriticalKind.CRITICAL_CONDITION:
        return not fhir.asserted_by_patient(resource)
    if kind is CriticalKind.ONGOING_TREATMENT:
        return fhir.category(resource) == "ongoing-treatment"
    if kind is CriticalKind.PROCEDURE_CHANGE:
        return fhir.category(resource) == "procedure-change"
    return True


async def _allowed(
    ctx: Context,
    nin: NationalIdentityNumber,
    kind: CriticalKind,
    treatment: str | None,
    *,
    treatment_known: bool = True,
) -> SectionAccess:
    """The policy's yes (the section's decision), or the denial logged and raised. The privacy
    settings are read once per request, however often this is asked."""
    try:
        settings = (await privacy.prefetch(ctx, nin)).unwrap()
        return policy.check_critical_writer(
            ctx.actor,
            ctx.stated,
            nin.value,
            settings,
            kind=kind.value,
            treatment=treatment,
            treatment_known=treatment_known,
        )
    except AccessDenied as denial:
        change.denied(ctx, nin, FIELD, denial)
        raise
    except GatewayError as error:
        ctx.audit.record(nin.value, FIELD, Outcome.ERROR, error.code)
        raise


def _first_check(ctx: Context, nin: NationalIdentityNumber, kind: CriticalKind) -> None:
    try:
        policy.check_critical_kind(ctx.actor, kind.value)
    except AccessDenied as denial:
        change.denied(ctx, nin, FIELD, denial)
        raise


async def _register(
    ctx: Context,
    nin: NationalIdentityNumber,
    kind: CriticalKind,
    resource: fhir.Resource,
    key: fhir.ChangeKey | None,
    *,
    treatment: str | None = None,
) -> ChangeResult:
    _first_check(ctx, nin, kind)
    decision = await _allowed(ctx, nin, kind, treatment)
    writer = ctx.clients.core_record_writer
    written = await change.apply(
        ctx,
        nin,
        FIELD,
        lambda: writer.create(resource, key),
        restricted_opened=decision.restricted_opened,
    )
    return result([written])


async def _existing(
    ctx: Context, nin: NationalIdentityNumber, ref: EntryRef
) -> tuple[Entry, str, SectionAccess]:
    """The entry ``ref`` names, the version to base on, and the policy's yes for it."""
    entry_id = input_checks.entry_id("entry.id", str(ref.id))
    base = input_checks.version("entry.baseVersion", ref.base_version)
    _first_check(ctx, nin, ref.kind)
    await _allowed(ctx, nin, ref.kind, None, treatment_known=False)
    try:
        entry = await ctx.clients.core_record_writer.entry(nin, _RESOURCE_TYPE[ref.kind], entry_id)
        if not _of_kind(entry, ref.kind):
            raise EntryNotFound("the patient's record holds no such entry of that kind")
    except GatewayError as error:
        ctx.audit.record(nin.value, FIELD, Outcome.ERROR, error.code)
        raise
    treatment = (
        fhir.treatment_type(entry.resource) if ref.kind is CriticalKind.ONGOING_TREATMENT else None
    )
    decision = await _allowed(ctx, nin, ref.kind, treatment)
    return entry, base, decision


Nin = Annotated[NationalIdentityNumber, strawberry.argument(description="The patient.")]


@strawberry.type
class CriticalInformationMutation:
    @strawberry.mutation(description="Register a drug reaction or other allergy (doctors).")
    async def register_allergy(
        self, info: Info[Context, None], nin: Nin, input: AllergyInput,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        fields = fhir.AllergyFields(
            agent=input_checks.text("input.agent", input.agent, _NAME),
            atc_code=input_checks.atc_code("input.atcCode", input.atc_code)
            if input.atc_code
            else None,
            category=input.category.value,
            reaction=input_checks.text("input.reaction", input.reaction, _TEXT, multiline=True),
            severity=input.severity.value if input.severity else None,
            criticality=input.criticality.value,
            verification=input.verification.value,
        )
        key = key_of(info, idempotency_key)
        resource = fhir.allergy(nin, ctx.actor, fields)
        return await _register(ctx, nin, CriticalKind.ALLERGY, resource, key)

    @strawberry.mutation(description="Register a critical medical condition (doctors).")
    async def register_critical_condition(
        self, info: Info[Context, None], nin: Nin, input: CriticalConditionInput,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        resource = fhir.critical_condition(
            nin,
            ctx.actor,
            input_checks.icd10_code("input.icd10Code", input.icd10_code),
            input_checks.text("input.display", input.display, _NAME),
            input_checks.text("input.note", input.note, _TEXT, multiline=True),
        )
        key = key_of(info, idempotency_key)
        return await _register(ctx, nin, CriticalKind.CRITICAL_CONDITION, resource, key)

    @strawberry.mutation(
        description="Register an ongoing treatment (doctors; nurses: radiotherapy, cytostatics, "
        "dialysis)."
    )
    async def register_ongoing_treatment(
        self, info: Info[Context, None], nin: Nin, input: OngoingTreatmentInput,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        description = input_checks.optional_text("input.description", input.description, _NAME)
        note = input_checks.text("input.note", input.note, _TEXT, multiline=True)
        started = input_checks.past_date("input.startedOn", input.started_on)
        assert started is not None
        treatment = input.treatment.value
        resource = fhir.procedure(
            nin, ctx.actor, "ongoing-treatment", fhir.treatment_code(treatment, description),
            note, started,
        )  # fmt: skip
        key = key_of(info, idempotency_key)
        return await _register(
            ctx, nin, CriticalKind.ONGOING_TREATMENT, resource, key, treatment=treatment
        )

    @strawberry.mutation(description="Register an implant (doctors).")
    async def register_implant(
        self, info: Info[Context, None], nin: Nin, input: ImplantInput,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        implanted = input_checks.past_date("input.implantedOn", input.implanted_on)
        assert implanted is not None
        resource = fhir.implant(
            nin,
            input_checks.text("input.device", input.device, _NAME),
            input_checks.text("input.note", input.note, _TEXT, multiline=True),
            implanted,
        )
        key = key_of(info, idempotency_key)
        return await _register(ctx, nin, CriticalKind.IMPLANT, resource, key)

    @strawberry.mutation(description="Register a change after a procedure (doctors).")
    async def register_procedure_change(
        self, info: Info[Context, None], nin: Nin, input: ProcedureChangeInput,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        description = input_checks.text("input.description", input.description, _NAME)
        note = input_checks.text("input.note", input.note, _TEXT, multiline=True)
        performed = input_checks.past_date("input.performedOn", input.performed_on)
        assert performed is not None
        resource = fhir.procedure(
            nin, ctx.actor, "procedure-change", {"text": description}, note, performed
        )
        key = key_of(info, idempotency_key)
        return await _register(ctx, nin, CriticalKind.PROCEDURE_CHANGE, resource, key)

    @strawberry.mutation(
        description="Change an entry of critical information, based on the version you read."
    )
    async def update_critical_information(
        self, info: Info[Context, None], nin: Nin, entry: EntryRef, change: CriticalUpdateInput,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        names = ("note", "criticality", "verification", "reaction", "severity", "status")
        given = {name for name in names if getattr(change, name) is not None}
        if not given:
            raise input_checks.InvalidInput("change", "name at least one field to change")
        for name in sorted(given - _FIELDS_BY_KIND[entry.kind]):
            raise input_checks.InvalidInput(
                f"change.{name}", f"does not apply to {entry.kind.name}"
            )
        update = fhir.CriticalUpdate(
            note=input_checks.optional_text("change.note", change.note, _TEXT, multiline=True),
            criticality=change.criticality.value if change.criticality else None,
            verification=change.verification.value if change.verification else None,
            reaction=input_checks.optional_text(
                "change.reaction", change.reaction, _TEXT, multiline=True
            ),
            severity=change.severity.value if change.severity else None,
            status=change.status.value if change.status else None,
        )
        key = key_of(info, idempotency_key)
        current, base, decision = await _existing(ctx, nin, entry)
        writer = ctx.clients.core_record_writer
        written = await _apply(
            ctx,
            nin,
            decision,
            lambda: writer.update(fhir.updated(current.resource, update), base, key),
        )
        return result([written])

    @strawberry.mutation(
        description="Retire an entry as entered in error or refuted, with the reason. Nothing "
        "is deleted: the entry stays in the record with the reason."
    )
    async def retire_critical_information(  # noqa: PLR0917 - GraphQL arguments arrive by name
        self, info: Info[Context, None], nin: Nin, entry: EntryRef, reason: RetireReason,
        explanation: Annotated[str, strawberry.argument(description="Why (1-500 characters).")],
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        why = input_checks.text("explanation", explanation, _TEXT, multiline=True)
        key = key_of(info, idempotency_key)
        current, base, decision = await _existing(ctx, nin, entry)
        writer = ctx.clients.core_record_writer
        retired = fhir.retired(current.resource, reason.value, why)
        written = await _apply(ctx, nin, decision, lambda: writer.update(retired, base, key))
        return result([written])


async def _apply(
    ctx: Context,
    nin: NationalIdentityNumber,
    decision: SectionAccess,
    write: Callable[[], Awaitable[Written]],
) -> Written:
    return await change.apply(ctx, nin, FIELD, write, restricted_opened=decision.restricted_opened)
