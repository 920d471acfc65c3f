"""Who may write what, as a table: authorisation x kind (x treatment) x patient state → outcome."""

from __future__ import annotations

import pytest

from gateway.access.actor import AccessBasis, Actor, ActorKind, PurposeOfUse, StatedAccess
from gateway.access.policy import (
    ALLERGY,
    CRITICAL_CONDITION,
    CRITICAL_INFORMATION,
    CRITICAL_KINDS,
    IMPLANT,
    ONGOING_TREATMENT,
    PROCEDURE_CHANGE,
    AccessDenied,
    PrivacySettings,
    check_critical_kind,
    check_critical_writer,
    check_own_registration_writer,
)

NIN = "12834122055"
TREAT_CONSENT = StatedAccess(PurposeOfUse.TREAT, AccessBasis.CONSENT)
TREATMENTS = ("dialysis", "cytostatics", "radiotherapy", "transplant-list", "other")


def clinician(authorisation: str, hpr: str = "9144901") -> Actor:
    return Actor(
        ActorKind.HEALTH_PERSONNEL, f"s-{hpr}", hpr_number=hpr, authorizations=(authorisation,)
    )


def writes(
    actor: Actor,
    kind: str,
    treatment: str | None = None,
    privacy: PrivacySettings | None = None,
    stated: StatedAccess = TREAT_CONSENT,
) -> str:
    try:
        check_critical_kind(actor, kind)
        check_critical_writer(
            actor, stated, NIN, privacy or PrivacySettings(), kind=kind, treatment=treatment
        )
    except AccessDenied as denial:
        return denial.code
    return "WRITES"


def _expected(authorisation: str, kind: str, treatment: str | None) -> str:
    if authorisation == "LE":
        return "WRITES"
    if authorisation == "SP" and kind == ONGOING_TREATMENT:
        return "WRITES" if treatment in {"dialysis", "cytostatics", "radiotherapy"} else "FORBIDDEN"
    return "FORBIDDEN"


MATRIX = [
    (authorisation, kind, treatment)
    for authorisation in ("LE", "SP", "FA1", "AA", "XX")
    for kind in sorted(CRITICAL_KINDS)
    for treatment in (TREATMENTS if kind == ONGOING_TREATMENT else (None,))
]


@pytest.mark.parametrize(("authorisation", "kind", "treatment"), MATRIX)
def test_the_write_permission_matrix(authorisation: str, kind: str, treatment: str | None) -> None:
    assert writes(clinician(authorisation), kind, treatment) == _expected(
        authorisation, kind, treatment
    )


def test_the_matrix_covers_every_kind_and_the_nurses_three_treatments() -> None:
    assert {ALLERGY, CRITICAL_CONDITION, ONGOING_TREATMENT, IMPLANT, PROCEDURE_CHANGE} == set(
        CRITICAL_KINDS
    )
    nurse = [t for a, k, t in MATRIX if a == "SP" and _expected(a, k, t) == "WRITES"]
    assert sorted(nurse) == ["cytostatics", "dialysis", "radiotherapy"]  # type: ignore[type-var]


@pytest.mark.parametrize("kind", sorted(CRITICAL_KINDS))
def test_patients_and_privacy_officers_write_no_critical_information(kind: str) -> None:
    patient = Actor(ActorKind.PATIENT, "p", pid=NIN)
    officer = Actor(ActorKind.PRIVACY_OFFICER, "o")
    assert writes(patient, kind, "dialysis") == "FORBIDDEN"
    assert writes(officer, kind, "dialysis") == "FORBIDDEN"


def test_writing_needs_the_same_lawful_access_as_reading() -> None:
    doctor = clinician("LE", hpr="9144900")
    blocked = PrivacySettings(blocked_hpr_numbers=frozenset({"9144900"}))
    reserved = PrivacySettings(reserved=True)
    restricted = PrivacySettings(restricted_sections=frozenset({CRITICAL_INFORMATION}))
    btg = StatedAccess(PurposeOfUse.BTG, AccessBasis.EMERGENCY, "Bevisstløs")
    exception = StatedAccess(PurposeOfUse.TREAT, AccessBasis.EXCEPTION)
    assert writes(doctor, ALLERGY, privacy=blocked, stated=btg) == "BLOCKED"
    assert writes(doctor, ALLERGY, privacy=reserved) == "RESERVED"
    assert writes(doctor, ALLERGY, privacy=restricted, stated=exception) == "RESTRICTED"
    assert writes(doctor, ALLERGY, privacy=restricted) == "WRITES", "consent opens it"
    assert writes(doctor, ALLERGY, stated=StatedAccess()) == "FORBIDDEN", "no purpose stated"


def test_only_the_patient_writes_their_own_registrations() -> None:
    check_own_registration_writer(Actor(ActorKind.PATIENT, "p", pid=NIN), NIN)
    for actor in (
        Actor(ActorKind.PATIENT, "q", pid="29829645783"),
        clinician("SP"),
        clinician("LE"),
        Actor(ActorKind.PRIVACY_OFFICER, "o"),
    ):
        with pytest.raises(AccessDenied) as refused:
            check_own_registration_writer(actor, NIN)
        assert refused.value.code == "FORBIDDEN"
