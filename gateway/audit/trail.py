"""One request's access-log events, gathered while it runs and made durable before it answers."""

from __future__ import annotations

import uuid

from gateway.access.actor import Actor, StatedAccess
from gateway.audit.events import AuditEvent, Outcome, PrivacyAlert, now_iso


class AuditTrail:
    """The events of one request, all with the same actor, purpose, basis and access id."""

    def __init__(self, actor: Actor, stated: StatedAccess, request_id: str) -> None:
        self.actor = actor
        self.stated = stated
        self.request_id = request_id
        self.access_id = uuid.uuid4().hex
        self.events: list[AuditEvent] = []
        # What every event of the request shares, in AuditEvent's field order, made once: a
        # summary records nine events.
        self._who = (
            self.access_id,
            request_id,
            actor.kind.value,
            actor.subject,
            actor.hpr_number,
            actor.pid,
            actor.name,
            ",".join(actor.authorizations),
            actor.legal_entity,
            actor.point_of_care,
            actor.organisation_name,
            actor.client_name,
        )
        self._why = (
            stated.purpose.value if stated.purpose else None,
            stated.basis.value if stated.basis else None,
            stated.btg_reason,
        )

    def record(
        self,
        patient: str,
        field: str,
        outcome: Outcome,
        code: str | None = None,
        *,
        restricted_opened: bool = False,
        from_cache: bool = False,
        stale_age_ms: int | None = None,
    ) -> None:
        """Note that ``field`` of ``patient`` was read or denied."""
        self.events.append(
            self.event(
                patient,
                field,
                outcome,
                code,
                restricted_opened=restricted_opened,
                from_cache=from_cache,
                stale_age_ms=stale_age_ms,
            )
        )

    def event(
        self,
        patient: str,
        field: str,
        outcome: Outcome,
        code: str | None = None,
        *,
        restricted_opened: bool = False,
        from_cache: bool = False,
        stale_age_ms: int | None = None,
    ) -> AuditEvent:
        """An event of this request, not yet kept (``record`` keeps one for the end of the
        request; a write's intent is committed on its own, before the write)."""
        return AuditEvent(
            now_iso(),
            *self._who,
            patient,
            field,
            *self._why,
            outcome.value,
            code,
            self.stated.emergency,
            restricted_opened,
            from_cache,
            stale_age_ms,
        )

    def alerts(self) -> list[PrivacyAlert]:
        """One alert for an emergency access in this request. It names the actor and points at
        the log entry; the patient and the reason stay in the log."""
        if not self.stated.emergency or not self.events:
            return []
        actor, stated = self.actor, self.stated
        organisation = actor.organisation_name or actor.legal_entity or "unknown organisation"
        kind = (
            "Break-the-glass" if stated.purpose and stated.purpose.value == "BTG" else "Emergency"
        )
        text = (
            f"{kind} access by {actor.name or 'unnamed'} (HPR {actor.hpr_number or '-'}), "
            f"{organisation}: purpose {stated.purpose.value if stated.purpose else '-'}, basis "
            f"{stated.basis.value if stated.basis else '-'}. See access log entry {self.access_id}."
        )
        return [
            PrivacyAlert(
                at=self.events[0].at,
                access_id=self.access_id,
                actor_name=actor.name,
                actor_hpr=actor.hpr_number,
                legal_entity=actor.legal_entity,
                organisation_name=actor.organisation_name,
                purpose=stated.purpose.value if stated.purpose else None,
                basis=stated.basis.value if stated.basis else None,
                text=text,
            )
        ]
