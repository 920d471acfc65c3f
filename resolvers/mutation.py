"""The root ``Mutation``: every change the gateway offers, one base type per concern."""

from __future__ import annotations

import strawberry

from resolvers.core_record.critical_mutations import CriticalInformationMutation
from resolvers.core_record.own_mutations import OwnRegistrationsMutation


@strawberry.type(
    description="Changing the summary care record: critical information (health personnel, "
    "by the policy's rules) and the patient's own registrations and privacy settings (the "
    "patient). Every change is logged before it is written, and never sent over GET."
)
class Mutation(CriticalInformationMutation, OwnRegistrationsMutation):
    pass
