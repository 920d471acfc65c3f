"""Reading the access log: the patient's own view, the privacy officer's full view, and alerts.

A patient sees who looked (name, organisation), when, on what basis, which sections and whether
it was an emergency, as in the national citizen portal; a privacy officer also sees the HPR
number, client system, request id, BTG reason and each field's outcome, and can filter. Reading
a log is itself logged.

An access whose answer never left (it was committed after its request had answered
``AUDIT_UNAVAILABLE``, and is marked ``NOT_DELIVERED``) is not in the patient's view; a privacy
officer sees it with its marks, and it counts as neither granted nor changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.access import policy
from gateway.access.actor import AccessBasis, PurposeOfUse
from gateway.access.policy import AccessDenied
from gateway.audit.events import (
    CHANGE_PREFIX,
    DOCUMENT_FIELD,
    LIFTED_CODES,
    REPLAYED,
    AuditEvent,
    Outcome,
    StoredEvent,
)
from gateway.audit.store import AuditUnavailable, LogQuery
from gateway.errors import AccessLogUnavailable, BadUserInput
from gateway.graphql import input_checks
from gateway.graphql.context import Context
from gateway.identity import NationalIdentityNumber

MAX_PAGE = 100
_LOOKUP = "patient"


# Registered in place: the fields below are annotated with the Python enums themselves.
strawberry.enum(
    Outcome,
    name="AccessOutcome",
    description="Granted, denied or failed; ATTEMPTED a change sent to the registry; "
    "NOT_DELIVERED marks the same field's event, whose answer never left the gateway.",
)
strawberry.enum(
    PurposeOfUse,
    name="PurposeOfUse",
    description="TREAT treatment, ETREAT emergency treatment, COC coordination of care, BTG "
    "break the glass.",
)
strawberry.enum(
    AccessBasis,
    name="AccessBasis",
    description="CONSENT (samtykke), EMERGENCY (akutt), EXCEPTION (unntak fra samtykke).",
)


@strawberry.type(description="One field of the summary as it was read or denied.")
class AccessLogField:
    field: str = strawberry.field(description="The summary field (section) accessed.")
    outcome: Outcome = strawberry.field(description="Granted, denied or failed.")
    code: str | None = strawberry.field(description="The denial or error code, if any.")
    restricted_opened: bool = strawberry.field(description="A restricted section was opened.")
    from_cache: bool = strawberry.field(description="The data came from the gateway's cache.")
    stale_age_seconds: float | None = strawberry.field(
        description="Set when stale data was served: its age in seconds."
    )


@strawberry.type(description="One access to the patient's record: one request by one person.")
class AccessLogEntry:
    cursor: str = strawberry.field(description="Pass as `after` to read older entries.")
    at: dt.datetime = strawberry.field(description="When the access happened.")
    actor_name: str | None = strawberry.field(description="Who looked.")
    organisation_name: str | None = strawberry.field(description="Their organisation's name.")
    legal_entity: str | None = strawberry.field(description="Organisation number (legal entity).")
    point_of_care: str | None = strawberry.field(description="Organisation number (unit).")
    authorisation: str | None = strawberry.field(
        description="Health-personnel authorisation (Volven 9060: LE doctor, SP nurse, …)."
    )
    purpose: PurposeOfUse | None = strawberry.field(description="The stated purpose of use.")
    basis: AccessBasis | None = strawberry.field(description="The stated access basis.")
    emergency: bool = strawberry.field(description="An emergency or break-the-glass access.")
    restricted_opened: bool = strawberry.field(description="A restricted section was opened.")
    sections: list[str] = strawberry.field(
        description="What was looked at. A patient sees that documents were opened, not which."
    )
    granted: bool = strawberry.field(description="Whether anything was shown.")
    changed: bool = strawberry.field(
        description="Something in the record was changed (or sent to be changed and the "
        "outcome never logged: the log errs towards telling you). The sections say which part "
        "(change:criticalInformation, change:ownRegistrations, change:privacySettings)."
    )
    protection_lifted: bool = strawberry.field(
        description="A block of a health professional or a restriction of a section was lifted."
    )
    hpr_number: str | None = strawberry.field(description="Privacy officers only: HPR number.")
    client_name: str | None = strawberry.field(description="Privacy officers only: the system.")
    request_id: str | None = strawberry.field(description="Privacy officers only: request id.")
    btg_reason: str | None = strawberry.field(description="Privacy officers only: BTG reason.")
    fields: list[AccessLogField] | None = strawberry.field(
        description="Privacy officers only: each field and its outcome."
    )


@strawberry.type(description="A page of an access log, newest first.")
class AccessLogPage:
    entries: list[AccessLogEntry] = strawberry.field(description="The accesses on this page.")
    has_next_page: bool = strawberry.field(description="Whether older entries exist.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")


@strawberry.type(description="An emergency or break-the-glass access, for privacy officers.")
class PrivacyAlertEntry:
    cursor: str = strawberry.field(description="Pass as `after` to read older alerts.")
    at: dt.datetime = strawberry.field(description="When the access happened.")
    text: str = strawberry.field(description="What happened; it holds no patient data.")
    actor_name: str | None = strawberry.field(description="Who accessed.")
    hpr_number: str | None = strawberry.field(description="Their HPR number.")
    legal_entity: str | None = strawberry.field(description="Their organisation number.")
    organisation_name: str | None = strawberry.field(description="Their organisation.")
    purpose: PurposeOfUse | None = strawberry.field(description="The stated purpose.")
    basis: AccessBasis | None = strawberry.field(description="The stated basis.")
    access_id: str = strawberry.field(description="The access-log entry it refers to.")


@strawberry.type(description="A page of privacy alerts, newest first.")
class PrivacyAlertPage:
    alerts: list[PrivacyAlertEntry] = strawberry.field(description="The alerts on this page.")
    has_next_page: bool = strawberry.field(description="Whether older alerts exist.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")


def _cursor(after: str | None) -> int | None:
    return input_checks.cursor("after", after)


def _first(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise BadUserInput(f"`first` must be between 1 and {MAX_PAGE}")
    return first


def _instant(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _shown_field(field: str, full: bool) -> str:
    """A field as a reader may see it: a patient sees that a document was opened, not which."""
    if not full and field.startswith(f"{DOCUMENT_FIELD}:"):
        return DOCUMENT_FIELD
    return field


def _cursor_seq(events: list[StoredEvent], query: LogQuery) -> int:
    """The seq the next page continues before: the newest of this access's events that the
    query's filters admit, as the store's paging compares (a request's events can straddle
    ``since``/``until``; actor and emergency are the same for all of them)."""
    admitted = [
        stored.seq
        for stored in events
        if (query.since is None or stored.event.at >= query.since)
        and (query.until is None or stored.event.at < query.until)
    ]
    return max(admitted, default=events[-1].seq)


def _changed(events: list[AuditEvent]) -> bool:
    """Whether a change was made: granted, or attempted with no outcome logged after it (a
    failure, or a replay of an earlier attempt that changed nothing this time)."""
    changes = [e for e in events if e.field.startswith(CHANGE_PREFIX)]
    settled = {
        e.field
        for e in changes
        if e.outcome in (Outcome.DENIED.value, Outcome.ERROR.value) or e.code == REPLAYED
    }
    return any(
        (e.outcome == Outcome.GRANTED.value and e.code != REPLAYED)
        or (e.outcome == Outcome.ATTEMPTED.value and e.field not in settled)
        for e in changes
    )


def _delivered(events: list[AuditEvent]) -> list[AuditEvent]:
    """The events whose data left the gateway: neither a NOT_DELIVERED mark nor marked by one
    (the store leaves both out of the patient's view already)."""
    undelivered = Outcome.NOT_DELIVERED.value
    marked = {(e.patient, e.field, e.at) for e in events if e.outcome == undelivered}
    return [
        e for e in events if e.outcome != undelivered and (e.patient, e.field, e.at) not in marked
    ]


def _entry(events: list[StoredEvent], full: bool, cursor: int) -> AccessLogEntry:
    head = events[0].event
    fields = [stored.event for stored in events]
    delivered = _delivered(fields)
    shown = [_shown_field(e.field, full) for e in delivered if e.field != _LOOKUP]
    return AccessLogEntry(
        cursor=str(cursor),
        at=_instant(head.at),
        actor_name=head.actor_name,
        organisation_name=head.organisation_name,
        legal_entity=head.legal_entity,
        point_of_care=head.point_of_care,
        authorisation=head.actor_authorizations or None,
        purpose=PurposeOfUse(head.purpose) if head.purpose else None,
        basis=AccessBasis(head.basis) if head.basis else None,
        emergency=head.emergency,
        restricted_opened=any(e.restricted_opened for e in delivered),
        sections=list(dict.fromkeys(shown)),
        granted=any(e.outcome == Outcome.GRANTED.value and e.field != _LOOKUP for e in delivered),
        changed=_changed(delivered),
        protection_lifted=any(
            e.code in LIFTED_CODES and e.outcome == Outcome.GRANTED.value for e in delivered
        ),
        hpr_number=head.actor_hpr if full else None,
        client_name=head.client_name if full else None,
        request_id=head.request_id if full else None,
        btg_reason=head.btg_reason if full else None,
        fields=[
            AccessLogField(
                field=e.field,
                outcome=Outcome(e.outcome),
                code=e.code,
                restricted_opened=e.restricted_opened,
                from_cache=e.from_cache,
                stale_age_seconds=e.stale_age_ms / 1000 if e.stale_age_ms is not None else None,
            )
            for e in fields
        ]
        if full
        else None,
    )


@strawberry.type
class AccessLogQuery:
    @strawberry.field(
        description="Who has looked at a patient's record, newest first. The patient reads "
        "their own log; privacy officers read anyone's, in full. Reading a log is logged."
    )
    async def access_log(  # noqa: PLR0917 - GraphQL arguments arrive by name
        self,
        info: Info[Context, None],
        nin: Annotated[
            NationalIdentityNumber, strawberry.argument(description="Whose log to read.")
        ],
        first: Annotated[int, strawberry.argument(description="Entries per page (1-100).")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="The previous page's endCursor.")
        ] = None,
        actor_hpr_number: Annotated[
            str | None, strawberry.argument(description="Only accesses by this HPR number.")
        ] = None,
        since: Annotated[
            dt.datetime | None, strawberry.argument(description="Only accesses at or after.")
        ] = None,
        until: Annotated[
            dt.datetime | None, strawberry.argument(description="Only accesses before.")
        ] = None,
        emergency_only: Annotated[
            bool, strawberry.argument(description="Only emergency and BTG accesses.")
        ] = False,
    ) -> AccessLogPage:
        ctx = info.context
        try:
            full = policy.check_log_reader(ctx.actor, nin.value)
        except AccessDenied as denial:
            ctx.audit.record(nin.value, "accessLog", Outcome.DENIED, denial.code)
            raise
        query = LogQuery(
            patient=nin.value,
            first=_first(first) + 1,
            before_seq=_cursor(after),
            actor_hpr=None
            if actor_hpr_number is None
            else input_checks.hpr_number("actorHprNumber", actor_hpr_number),
            since=_iso(since),
            until=_iso(until),
            emergency_only=emergency_only,
            delivered_only=not full,
        )
        try:
            groups = await ctx.audit_writer.store.accesses(query)
        except AuditUnavailable as exc:
            raise AccessLogUnavailable("the access log cannot be read right now") from exc
        ctx.audit.record(nin.value, "accessLog", Outcome.GRANTED)
        page = groups[:first]
        entries = [_entry(events, full, _cursor_seq(events, query)) for events in page]
        return AccessLogPage(
            entries=entries,
            has_next_page=len(groups) > first,
            end_cursor=entries[-1].cursor if entries else None,
        )

    @strawberry.field(
        description="Emergency and break-the-glass accesses, newest first (privacy officers)."
    )
    async def privacy_alerts(
        self,
        info: Info[Context, None],
        first: Annotated[int, strawberry.argument(description="Alerts per page (1-100).")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="The previous page's endCursor.")
        ] = None,
    ) -> PrivacyAlertPage:
        ctx = info.context
        policy.check_alert_reader(ctx.actor)
        try:
            stored = await ctx.audit_writer.store.alerts(_first(first) + 1, _cursor(after))
        except AuditUnavailable as exc:
            raise AccessLogUnavailable("the privacy alerts cannot be read right now") from exc
        alerts = [
            PrivacyAlertEntry(
                cursor=str(item.id),
                at=_instant(item.alert.at),
                text=item.alert.text,
                actor_name=item.alert.actor_name,
                hpr_number=item.alert.actor_hpr,
                legal_entity=item.alert.legal_entity,
                organisation_name=item.alert.organisation_name,
                purpose=PurposeOfUse(item.alert.purpose) if item.alert.purpose else None,
                basis=AccessBasis(item.alert.basis) if item.alert.basis else None,
                access_id=item.alert.access_id,
            )
            for item in stored[:first]
        ]
        return PrivacyAlertPage(
            alerts=alerts,
            has_next_page=len(stored) > first,
            end_cursor=alerts[-1].cursor if alerts else None,
        )


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
