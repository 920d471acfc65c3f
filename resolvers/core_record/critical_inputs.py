"""The GraphQL inputs and enums of the critical-information mutations."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry

from gateway.access import policy
from resolvers.core_record.critical_information import Criticality


@strawberry.enum(description="The kinds of critical information.")
class CriticalKind(Enum):
    ALLERGY = policy.ALLERGY
    CRITICAL_CONDITION = policy.CRITICAL_CONDITION
    ONGOING_TREATMENT = policy.ONGOING_TREATMENT
    IMPLANT = policy.IMPLANT
    PROCEDURE_CHANGE = policy.PROCEDURE_CHANGE


@strawberry.enum(
    description="Ongoing treatments. Nurses may write RADIOTHERAPY, CYTOSTATICS and DIALYSIS."
)
class OngoingTreatmentType(Enum):
    DIALYSIS = "dialysis"
    CYTOSTATICS = "cytostatics"
    RADIOTHERAPY = "radiotherapy"
    TRANSPLANT_LIST = "transplant-list"
    OTHER = "other"


@strawberry.enum(description="What the patient reacts to.")
class AllergyCategory(Enum):
    MEDICATION = "medication"
    FOOD = "food"
    ENVIRONMENT = "environment"
    BIOLOGIC = "biologic"


@strawberry.enum(description="How severe the reaction was.")
class Severity(Enum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


@strawberry.enum(description="How certain a new or updated entry is.")
class Certainty(Enum):
    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"
    PRESUMED = "presumed"


@strawberry.enum(
    description="Why an entry is retired; it stays in the record either way. ENTERED_IN_ERROR: "
    "it was never true (a mistake), and readers no longer see it. REFUTED: it was disproved "
    "(e.g. a test showed no allergy), and it is shown as refuted (a treatment or implant as "
    "not done or stopped)."
)
class RetireReason(Enum):
    ENTERED_IN_ERROR = "entered-in-error"
    REFUTED = "refuted"


@strawberry.enum(description="Where a treatment stands.")
class TreatmentStatus(Enum):
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    STOPPED = "stopped"


@strawberry.input(description="A drug reaction or other allergy.")
class AllergyInput:
    agent: str = strawberry.field(description="What the patient reacts to (1-200 characters).")
    atc_code: str | None = strawberry.field(default=None, description="ATC code, e.g. J01CE02.")
    category: AllergyCategory = strawberry.field(description="Medication, food, …")
    reaction: str = strawberry.field(description="The reaction seen (1-500 characters).")
    severity: Severity | None = strawberry.field(default=None, description="How severe.")
    criticality: Criticality = strawberry.field(description="Low, high, unable to assess.")
    verification: Certainty = strawberry.field(description="How certain it is.")


@strawberry.input(description="A critical medical condition.")
class CriticalConditionInput:
    icd10_code: str = strawberry.field(description="ICD-10, e.g. N18.5.")
    display: str = strawberry.field(description="The condition's name (1-200 characters).")
    note: str = strawberry.field(description="What others must know (1-500 characters).")


@strawberry.input(description="An ongoing treatment.")
class OngoingTreatmentInput:
    treatment: OngoingTreatmentType = strawberry.field(description="Which treatment.")
    description: str | None = strawberry.field(
        default=None, description="In your words (default: the treatment's name)."
    )
    note: str = strawberry.field(description="What others must know (1-500 characters).")
    started_on: dt.date = strawberry.field(description="When it began (not in the future).")


@strawberry.input(description="An implant.")
class ImplantInput:
    device: str = strawberry.field(description="The implant (1-200 characters).")
    note: str = strawberry.field(description="What others must know, e.g. MRI safety.")
    implanted_on: dt.date = strawberry.field(description="When (not in the future).")


@strawberry.input(description="A change after a procedure (e.g. splenectomy).")
class ProcedureChangeInput:
    description: str = strawberry.field(description="The procedure (1-200 characters).")
    note: str = strawberry.field(description="What others must know (1-500 characters).")
    performed_on: dt.date = strawberry.field(description="When (not in the future).")


@strawberry.input(description="The entry a change is about, and the version it is based on.")
class EntryRef:
    kind: CriticalKind = strawberry.field(description="Its kind.")
    id: strawberry.ID = strawberry.field(description="Its id, as the summary gives it.")
    base_version: str = strawberry.field(
        description="The version you read; if it changed since, the change is refused "
        "(VERSION_CONFLICT) and nothing is written."
    )


@strawberry.input(description="What to change in an entry; leave out what stays.")
class CriticalUpdateInput:
    note: str | None = strawberry.field(default=None, description="A new note.")
    criticality: Criticality | None = strawberry.field(default=None, description="Allergies.")
    verification: Certainty | None = strawberry.field(
        default=None, description="Allergies and conditions."
    )
    reaction: str | None = strawberry.field(default=None, description="Allergies.")
    severity: Severity | None = strawberry.field(default=None, description="Allergies.")
    status: TreatmentStatus | None = strawberry.field(
        default=None, description="Ongoing treatments and procedure changes."
    )
