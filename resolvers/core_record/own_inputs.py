"""The GraphQL inputs and enums of the patient's own registrations and privacy settings."""

from __future__ import annotations

from enum import Enum

import strawberry

from gateway.access import policy


@strawberry.enum(description="How a next of kin is related to the patient (v3 RoleCode).")
class Relation(Enum):
    SPOUSE = ("SPS", "spouse")
    DAUGHTER = ("DAU", "daughter")
    SON = ("SON", "son")
    SIBLING = ("SIB", "sibling")
    PARENT = ("PRN", "parent")
    FRIEND = ("FRND", "unrelated friend")
    NEIGHBOUR = ("NBOR", "neighbor")


@strawberry.enum(description="A special need when communicating with the patient.")
class NeedKind(Enum):
    INTERPRETER = "interpreter"
    HEARING = "hearing"
    SIGHT = "sight"


@strawberry.enum(description="The fixed categories of self-reported diseases.")
class SelfReportedCategory(Enum):
    HEART_AND_VESSELS = "Hjerte- og karsykdom"
    DIABETES = "Diabetes"
    ASTHMA_OR_COPD = "Astma eller KOLS"
    EPILEPSY = "Epilepsi"
    CANCER = "Kreftsykdom"
    MENTAL_ILLNESS = "Psykisk lidelse"
    RHEUMATIC = "Revmatisk sykdom"
    KIDNEY = "Nyresykdom"
    METABOLIC = "Stoffskiftesykdom"
    OTHER = "Annen sykdom"


@strawberry.enum(description="The sections a patient may restrict.")
class RestrictableSection(Enum):
    CRITICAL_INFORMATION = policy.CRITICAL_INFORMATION
    MEDICATIONS = policy.MEDICATIONS
    DOCUMENTS = policy.DOCUMENTS
    LAB_RESULTS = policy.LAB_RESULTS
    VISIT_HISTORY = policy.VISIT_HISTORY
    OWN_REGISTRATIONS = policy.OWN_REGISTRATIONS
    GENERAL_PRACTITIONER = policy.GENERAL_PRACTITIONER


NEED_TEXT = {
    NeedKind.HEARING: "Hørselshemmet",
    NeedKind.SIGHT: "Synshemmet",
    NeedKind.INTERPRETER: "Trenger tolk",
}


@strawberry.input(description="A next of kin.")
class NextOfKinInput:
    given_name: str = strawberry.field(description="Given name(s), 1-100 characters.")
    family_name: str = strawberry.field(description="Family name, 1-100 characters.")
    relation: Relation = strawberry.field(description="How they are related to you.")
    phone: str = strawberry.field(description="Phone number: 8-15 digits, optionally after +.")


@strawberry.input(description="A communication need.")
class CommunicationNeedInput:
    need: NeedKind = strawberry.field(description="Interpreter, hearing or sight.")
    language: str | None = strawberry.field(
        default=None, description="For an interpreter (required then): ISO 639 code, e.g. pl."
    )
    description: str | None = strawberry.field(
        default=None, description="In your words (1-200 characters)."
    )


@strawberry.input(description="One of your own entries, and the version you read.")
class OwnEntryRef:
    id: strawberry.ID = strawberry.field(description="Its id, as the summary gives it.")
    base_version: str = strawberry.field(description="The version you read.")
