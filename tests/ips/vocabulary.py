"""What the HL7 IPS IG 2.0.1 and FHIR R4 say an IPS document may hold: codes, section slices,
value sets and primitive formats. The checks in ``tests/ips_rules.py`` apply them.
"""

from __future__ import annotations

import re

LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
LIST_EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
XHTML_DIV = "{http://www.w3.org/1999/xhtml}div"

MEDICATIONS, ALLERGIES, PROBLEMS = "10160-0", "48765-2", "11450-4"
REQUIRED_SECTIONS = {MEDICATIONS: "medications", ALLERGIES: "allergies", PROBLEMS: "problems"}

# Composition.section slices of the IPS IG 2.0.1: section LOINC code -> allowed entry types.
# Every slice also admits DocumentReference; Medication itself is not a section entry (it is
# reached through MedicationStatement/Request.medicationReference). Patient story (81338-6)
# has no type restriction; sections the IG does not name accept any type.
SECTION_ENTRY_TYPES: dict[str, frozenset[str]] = {
    code: frozenset({*types, "DocumentReference"})
    for code, types in {
        MEDICATIONS: {
            "MedicationStatement",
            "MedicationRequest",
            "MedicationAdministration",
            "MedicationDispense",
        },
        ALLERGIES: {"AllergyIntolerance"},
        PROBLEMS: {"Condition"},
        "11369-6": {"Immunization"},
        "30954-2": {"Observation", "DiagnosticReport"},
        "47519-4": {"Procedure"},
        "46264-8": {"DeviceUseStatement"},
        "42348-3": {"Consent"},
        "104605-1": {"Flag"},
        "47420-5": {"Condition", "ClinicalImpression"},
        "11348-0": {"Condition"},
        "10162-6": {"Observation"},
        "18776-5": {"CarePlan", "ImmunizationRecommendation"},
        "29762-2": {"Observation"},
        "8716-3": {"Observation"},
    }.items()
}

LIST_EMPTY_REASONS = frozenset(
    {"nilknown", "notasked", "withheld", "unavailable", "notstarted", "closed"}
)
CONFIDENTIALITY = frozenset({"U", "L", "M", "N", "R", "V"})  # v3 Confidentiality (R4 binding)

# (resource type, element) -> (CodeSystem, codes) for CodeableConcepts bound to HL7 code systems.
CODED_STATUS: dict[tuple[str, str], tuple[str, frozenset[str]]] = {
    ("AllergyIntolerance", "clinicalStatus"): (
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
        frozenset({"active", "inactive", "resolved"}),
    ),
    ("AllergyIntolerance", "verificationStatus"): (
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
        frozenset({"unconfirmed", "confirmed", "refuted", "entered-in-error"}),
    ),
    ("Condition", "clinicalStatus"): (
        "http://terminology.hl7.org/CodeSystem/condition-clinical",
        frozenset({"active", "recurrence", "relapse", "inactive", "remission", "resolved"}),
    ),
    ("Condition", "verificationStatus"): (
        "http://terminology.hl7.org/CodeSystem/condition-ver-status",
        frozenset(
            {"unconfirmed", "provisional", "differential", "confirmed", "refuted"}
            | {"entered-in-error"}
        ),
    ),
}
# (resource type) -> the R4 required value set of its ``status`` code.
STATUS_CODES: dict[str, frozenset[str]] = {
    "Observation": frozenset(
        {"registered", "preliminary", "final", "amended", "corrected", "cancelled"}
        | {"entered-in-error", "unknown"}
    ),
    "MedicationRequest": frozenset(
        {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped"}
        | {"draft", "unknown"}
    ),
    "MedicationStatement": frozenset(
        {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold"}
        | {"unknown", "not-taken"}
    ),
}

# An ATC code at level 4 or 5 (e.g. L02BG, L02BG03); shorter levels look like ICD-10 codes.
ATC_CODE = re.compile(r"^[ABCDGHJLMNPRSV][0-9]{2}[A-Z]{2}([0-9]{2})?$")
ATC_ANY_LEVEL = re.compile(r"^[ABCDGHJLMNPRSV]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$")

# R4 primitive regexes (datatypes.html).
_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_MONTH, _DAY = r"(0[1-9]|1[0-2])", r"(0[1-9]|[1-2][0-9]|3[0-1])"
DATE = re.compile(rf"^{_YEAR}(-{_MONTH}(-{_DAY})?)?$")
DATE_TIME = re.compile(rf"^{_YEAR}(-{_MONTH}(-{_DAY}(T{_TIME}{_ZONE})?)?)?$")
INSTANT = re.compile(rf"^{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_ZONE}$")
# Elements, by name, whose R4 type is one of those primitives in the resources an IPS carries.
DATE_ELEMENTS = frozenset({"birthDate", "expirationDate"})
INSTANT_ELEMENTS = frozenset({"timestamp", "lastUpdated", "issued"})
DATE_TIME_ELEMENTS = frozenset(
    {"date", "recordedDate", "authoredOn", "dateAsserted", "start", "end", "onset"}
    | {"lastOccurrence", "time", "created", "whenHandedOver", "whenPrepared"}
)
