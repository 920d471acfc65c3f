"""``patientStatus``: is the record reserved, which sections are restricted, am I blocked?

A cheap check a clinician's system makes before it asks for a summary. As in the national
service it is not written to the access log: it reads only the privacy settings, no health data.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.access import policy
from gateway.graphql.context import Context
from gateway.identity import NationalIdentityNumber
from resolvers.core_record import privacy


@strawberry.type(description="A patient's privacy settings as they concern the caller.")
class PatientStatus:
    reserved: bool = strawberry.field(
        description="The patient has opted out of the core record: there is nothing to show."
    )
    restricted_sections: list[str] = strawberry.field(
        description="Sections the patient has restricted (they open with CONSENT or EMERGENCY)."
    )
    blocked_for_me: bool = strawberry.field(
        description="The patient has blocked the caller: nothing opens, not even BTG."
    )


@strawberry.type
class PatientStatusQuery:
    @strawberry.field(
        description="Reserved? Restricted sections? Am I blocked? Not written to the access log."
    )
    async def patient_status(
        self,
        info: Info[Context, None],
        nin: Annotated[
            NationalIdentityNumber,
            strawberry.argument(description="The patient's national identity number."),
        ],
    ) -> PatientStatus:
        ctx = info.context
        policy.check_status_reader(ctx.actor, nin.value)
        # Unknown settings (a read cut short, a Consent not understood) raise: no status at all.
        settings = (await privacy.prefetch(ctx, nin)).unwrap()
        return PatientStatus(
            reserved=settings.reserved,
            restricted_sections=sorted(settings.restricted_sections),
            blocked_for_me=policy.is_blocked(ctx.actor, settings),
        )
