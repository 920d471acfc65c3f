"""The patient's own registrations and privacy settings: for a patient on their own record only.

Next of kin, communication needs and self-reported diseases are logged as
``change:ownRegistrations``; restrictions and blocks as ``change:privacySettings``, and lifting
one carries the code RESTRICTION_LIFTED or BLOCK_LIFTED (``AccessLogEntry.protectionLifted``).
Privacy settings are read from the registry on every request (never cached), so an opened
section or a lifted block holds at once, on every gateway instance.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.access import policy
from gateway.access.policy import AccessDenied
from gateway.audit.events import BLOCK_LIFTED, RESTRICTION_LIFTED, Outcome
from gateway.errors import EntryNotFound, GatewayError
from gateway.graphql import input_checks
from gateway.graphql.context import Context
from gateway.identity import NationalIdentityNumber
from resolvers.core_record import change
from resolvers.core_record import fhir_changes as fhir
from resolvers.core_record import fhir_own_changes as own_fhir
from resolvers.core_record.change_types import ChangeResult, IdempotencyKey, key_of, result
from resolvers.core_record.own_inputs import (
    NEED_TEXT,
    CommunicationNeedInput,
    NeedKind,
    NextOfKinInput,
    OwnEntryRef,
    RestrictableSection,
    SelfReportedCategory,
)
from resolvers.core_record.writer import Entry, Written

MAX_SELF_REPORTED = 30
_NAME = 100


Nin = Annotated[NationalIdentityNumber, strawberry.argument(description="Your own number.")]


def _patient_only(ctx: Context, nin: NationalIdentityNumber, field: str) -> None:
    try:
        policy.check_own_registration_writer(ctx.actor, nin.value)
    except AccessDenied as denial:
        change.denied(ctx, nin, field, denial)
        raise


def _next_of_kin(input: NextOfKinInput) -> tuple[str, str, tuple[str, str], str]:
    return (
        input_checks.text("input.givenName", input.given_name, _NAME),
        input_checks.text("input.familyName", input.family_name, _NAME),
        input.relation.value,
        input_checks.phone("input.phone", input.phone),
    )


async def _own_entry(
    ctx: Context, nin: NationalIdentityNumber, ref: OwnEntryRef, resource_type: str
) -> tuple[Entry, str]:
    entry_id = input_checks.entry_id("entry.id", str(ref.id))
    base = input_checks.version("entry.baseVersion", ref.base_version)
    try:
        return await ctx.clients.core_record_writer.entry(nin, resource_type, entry_id), base
    except GatewayError as error:
        ctx.audit.record(nin.value, change.OWN_REGISTRATIONS, Outcome.ERROR, error.code)
        raise


async def _own(
    ctx: Context, nin: NationalIdentityNumber, write: Callable[[], Awaitable[Written]]
) -> ChangeResult:
    return result([await change.apply(ctx, nin, change.OWN_REGISTRATIONS, write)])


@strawberry.type
class OwnRegistrationsMutation:
    @strawberry.mutation(description="Add a next of kin (the patient, on their own record).")
    async def add_next_of_kin(
        self, info: Info[Context, None], nin: Nin, input: NextOfKinInput,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        values = _next_of_kin(input)
        key = key_of(info, idempotency_key)
        _patient_only(ctx, nin, change.OWN_REGISTRATIONS)
        writer = ctx.clients.core_record_writer
        return await _own(ctx, nin, lambda: writer.create(own_fhir.next_of_kin(nin, *values), key))

    @strawberry.mutation(description="Change a next of kin's name, relation or phone.")
    async def change_next_of_kin(
        self, info: Info[Context, None], nin: Nin, entry: OwnEntryRef, input: NextOfKinInput,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        values = _next_of_kin(input)
        key = key_of(info, idempotency_key)
        _patient_only(ctx, nin, change.OWN_REGISTRATIONS)
        current, base = await _own_entry(ctx, nin, entry, "RelatedPerson")
        resource = own_fhir.changed_next_of_kin(current.resource, *values)
        writer = ctx.clients.core_record_writer
        return await _own(ctx, nin, lambda: writer.update(resource, base, key))

    @strawberry.mutation(description="Remove a next of kin (kept in the record as inactive).")
    async def remove_next_of_kin(
        self, info: Info[Context, None], nin: Nin, entry: OwnEntryRef,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        key = key_of(info, idempotency_key)
        _patient_only(ctx, nin, change.OWN_REGISTRATIONS)
        current, base = await _own_entry(ctx, nin, entry, "RelatedPerson")
        writer = ctx.clients.core_record_writer
        resource = own_fhir.deactivated(current.resource)
        return await _own(ctx, nin, lambda: writer.update(resource, base, key))

    @strawberry.mutation(
        description="Add a communication need: interpreter (and language), hearing or sight."
    )
    async def add_communication_need(
        self, info: Info[Context, None], nin: Nin, input: CommunicationNeedInput,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        description = input_checks.optional_text("input.description", input.description, 200)
        text = description or NEED_TEXT[input.need]
        if input.need is NeedKind.INTERPRETER:
            if input.language is None:
                raise input_checks.InvalidInput("input.language", "an interpreter needs a language")
            text = f"{text} ({input_checks.language_code('input.language', input.language)})"
        elif input.language is not None:
            raise input_checks.InvalidInput("input.language", "applies only to an interpreter")
        key = key_of(info, idempotency_key)
        _patient_only(ctx, nin, change.OWN_REGISTRATIONS)
        writer = ctx.clients.core_record_writer
        patient_id = await writer.patient_id(nin)
        resource = own_fhir.communication_need(nin, patient_id, input.need.value, text)
        return await _own(ctx, nin, lambda: writer.create(resource, key))

    @strawberry.mutation(
        description="Remove a communication need (kept in the record as inactive)."
    )
    async def remove_communication_need(
        self, info: Info[Context, None], nin: Nin, entry: OwnEntryRef,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        key = key_of(info, idempotency_key)
        _patient_only(ctx, nin, change.OWN_REGISTRATIONS)
        current, base = await _own_entry(ctx, nin, entry, "Flag")
        if fhir.category(current.resource) != "communication-need":
            raise EntryNotFound("you have no communication need with that id")
        writer = ctx.clients.core_record_writer
        resource = own_fhir.deactivated(current.resource)
        return await _own(ctx, nin, lambda: writer.update(resource, base, key))

    @strawberry.mutation(
        description=f"Add a self-reported disease (at most {MAX_SELF_REPORTED}, fixed categories)."
    )
    async def add_self_reported_condition(
        self, info: Info[Context, None], nin: Nin, category: SelfReportedCategory,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        key = key_of(info, idempotency_key)
        _patient_only(ctx, nin, change.OWN_REGISTRATIONS)
        writer = ctx.clients.core_record_writer
        registered = [
            e for e in await writer.current(nin, "Condition")
            if own_fhir.counts_as_self_reported(e.resource)
        ]  # fmt: skip
        if len(registered) >= MAX_SELF_REPORTED:
            raise input_checks.InvalidInput(
                "category", f"you have {MAX_SELF_REPORTED} self-reported diseases; remove one first"
            )
        patient_id = await writer.patient_id(nin)
        resource = own_fhir.self_reported_condition(nin, patient_id, category.value)
        return await _own(ctx, nin, lambda: writer.create(resource, key))

    @strawberry.mutation(
        description="Remove a self-reported disease (kept, marked entered in error)."
    )
    async def remove_self_reported_condition(
        self, info: Info[Context, None], nin: Nin, entry: OwnEntryRef,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        key = key_of(info, idempotency_key)
        _patient_only(ctx, nin, change.OWN_REGISTRATIONS)
        current, base = await _own_entry(ctx, nin, entry, "Condition")
        if not own_fhir.counts_as_self_reported(current.resource):
            raise EntryNotFound("you have no self-reported disease with that id")
        writer = ctx.clients.core_record_writer
        resource = own_fhir.removed_self_reported(current.resource)
        return await _own(ctx, nin, lambda: writer.update(resource, base, key))

    @strawberry.mutation(
        description="Restrict sections: health personnel then see them only with your consent "
        "or in an emergency, and opening them is flagged in your log."
    )
    async def restrict_sections(
        self, info: Info[Context, None], nin: Nin, sections: list[RestrictableSection],
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        chosen = _sections(sections)
        key = key_of(info, idempotency_key)
        _patient_only(ctx, nin, change.PRIVACY_SETTINGS)
        writer = ctx.clients.core_record_writer
        resource = own_fhir.consent(nin, "restriction", sections=tuple(sorted(chosen)))
        return result(
            [
                await change.apply(
                    ctx, nin, change.PRIVACY_SETTINGS, lambda: writer.create(resource, key)
                )
            ]
        )

    @strawberry.mutation(description="Lift the restriction of sections (flagged in your log).")
    async def open_sections(
        self, info: Info[Context, None], nin: Nin, sections: list[RestrictableSection],
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        chosen = _sections(sections)
        key = key_of(info, idempotency_key)
        _patient_only(ctx, nin, change.PRIVACY_SETTINGS)
        writer = ctx.clients.core_record_writer
        consents = await writer.current(nin, "Consent")
        plan = [
            (own_fhir.opened(c.resource, chosen, policy.ALL_SECTIONS), c.version) for c in consents
        ]
        return await _lift(ctx, nin, plan, key, RESTRICTION_LIFTED)

    @strawberry.mutation(
        description="Block a health professional by HPR number; holds even in emergencies."
    )
    async def block_health_personnel(
        self, info: Info[Context, None], nin: Nin,
        hpr_number: Annotated[str, strawberry.argument(description="Their HPR number.")],
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        number = input_checks.hpr_number("hprNumber", hpr_number)
        key = key_of(info, idempotency_key)
        _patient_only(ctx, nin, change.PRIVACY_SETTINGS)
        writer = ctx.clients.core_record_writer
        resource = own_fhir.consent(nin, "block", hpr_numbers=(number,))
        return result(
            [
                await change.apply(
                    ctx, nin, change.PRIVACY_SETTINGS, lambda: writer.create(resource, key)
                )
            ]
        )

    @strawberry.mutation(description="Lift a block of a health professional (flagged in your log).")
    async def unblock_health_personnel(
        self, info: Info[Context, None], nin: Nin,
        hpr_number: Annotated[str, strawberry.argument(description="Their HPR number.")],
        idempotency_key: IdempotencyKey = None,
    ) -> ChangeResult:  # fmt: skip
        ctx = info.context
        number = input_checks.hpr_number("hprNumber", hpr_number)
        key = key_of(info, idempotency_key)
        _patient_only(ctx, nin, change.PRIVACY_SETTINGS)
        writer = ctx.clients.core_record_writer
        consents = await writer.current(nin, "Consent")
        plan = [(own_fhir.unblocked(c.resource, number), c.version) for c in consents]
        return await _lift(ctx, nin, plan, key, BLOCK_LIFTED)


def _sections(sections: list[RestrictableSection]) -> frozenset[str]:
    if not sections:
        raise input_checks.InvalidInput("sections", "name at least one section")
    return frozenset(section.value for section in sections)


async def _lift(
    ctx: Context,
    nin: NationalIdentityNumber,
    plan: list[tuple[fhir.Resource | None, str]],
    key: fhir.ChangeKey | None,
    code: str,
) -> ChangeResult:
    """Write each changed Consent over the version just read. Nothing to lift: nothing written
    (lifting twice is harmless, so a retry is too)."""
    updates = [(resource, version) for resource, version in plan if resource is not None]
    if not updates:
        return result([])
    writer = ctx.clients.core_record_writer

    async def write_all() -> list[Written]:
        return [await writer.update(resource, version, key) for resource, version in updates]

    written = await change.apply(ctx, nin, change.PRIVACY_SETTINGS, write_all, code=code)
    return result(written)
