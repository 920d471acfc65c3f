"""The access policy as a table: authorisation x purpose x basis x patient state → outcome."""

from __future__ import annotations

import itertools

import pytest

from gateway.access.actor import AccessBasis, Actor, ActorKind, PurposeOfUse, StatedAccess
from gateway.access.policy import (
    ALL_SECTIONS,
    DOCUMENTS,
    LAB_RESULTS,
    MEDICATIONS,
    AccessDenied,
    PrivacySettings,
    check_alert_reader,
    check_log_reader,
    check_status_reader,
    decide,
)

NIN = "12834122055"
OTHER_NIN = "29829645783"
BLOCKED_HPR = "9144900"

T, E, C, B = PurposeOfUse.TREAT, PurposeOfUse.ETREAT, PurposeOfUse.COC, PurposeOfUse.BTG
CONSENT, EMERGENCY, EXCEPTION = AccessBasis.CONSENT, AccessBasis.EMERGENCY, AccessBasis.EXCEPTION

OPEN = PrivacySettings()
RESERVED = PrivacySettings(reserved=True)
RESTRICTED = PrivacySettings(restricted_sections=frozenset({DOCUMENTS, LAB_RESULTS}))
BLOCKING = PrivacySettings(blocked_hpr_numbers=frozenset({BLOCKED_HPR}))
STATES = {"open": OPEN, "reserved": RESERVED, "restricted": RESTRICTED, "blocking": BLOCKING}
PHARMACY = {"demographics", "criticalInformation", "medications", "generalPractitioner"}


def clinician(authorisation: str, hpr: str = "9144901") -> Actor:
    return Actor(
        ActorKind.HEALTH_PERSONNEL, f"s-{hpr}", hpr_number=hpr, authorizations=(authorisation,)
    )


def outcome(  # noqa: PLR0917 - one row of the table
    authorisation: str,
    purpose: PurposeOfUse,
    basis: AccessBasis,
    state: str,
    reason: str | None = None,
    hpr: str = "9144901",
) -> str | dict[str, str]:
    """The patient-level denial code, or each section's decision ('open', 'opened' for a
    restricted section opened, or its denial code)."""
    try:
        access = decide(
            clinician(authorisation, hpr), StatedAccess(purpose, basis, reason), NIN, STATES[state]
        )
    except AccessDenied as denial:
        return denial.code
    return {
        name: (
            access.section(name).denial.code  # type: ignore[union-attr]
            if access.section(name).denial
            else ("opened" if access.section(name).restricted_opened else "open")
        )
        for name in ALL_SECTIONS
    }


def _sections(default: str, **overrides: str) -> dict[str, str]:
    sections = dict.fromkeys(ALL_SECTIONS, default)
    sections.update(overrides)
    return sections


EVERYTHING = _sections("open")
PHARMACIST_VIEW = {name: "open" if name in PHARMACY else "FORBIDDEN" for name in ALL_SECTIONS}
RESTRICTED_SHUT = _sections("open", documents="RESTRICTED", labResults="RESTRICTED")
RESTRICTED_OPENED = _sections("open", documents="opened", labResults="opened")

# (authorisation, purpose, basis, patient state, BTG reason) → expected outcome
TABLE: list[tuple[str, PurposeOfUse, AccessBasis, str, str | None, str | dict[str, str]]] = [
    # A doctor on treatment without consent (the exception) sees everything not restricted.
    ("LE", T, EXCEPTION, "open", None, EVERYTHING),
    ("LE", C, EXCEPTION, "open", None, EVERYTHING),
    ("LE", T, EXCEPTION, "restricted", None, RESTRICTED_SHUT),
    # Consent or an emergency opens restricted sections, flagged.
    ("LE", T, CONSENT, "restricted", None, RESTRICTED_OPENED),
    ("LE", E, EMERGENCY, "restricted", None, RESTRICTED_OPENED),
    ("LE", B, EMERGENCY, "restricted", "unconscious, no relatives", RESTRICTED_OPENED),
    # Reservation: no record for anyone, whatever the purpose.
    ("LE", T, EXCEPTION, "reserved", None, "RESERVED"),
    ("LE", B, EMERGENCY, "reserved", "cardiac arrest", "RESERVED"),
    ("SP", T, CONSENT, "reserved", None, "RESERVED"),
    # A nurse needs consent (or an emergency): a token does not say where a nurse works.
    ("SP", T, CONSENT, "open", None, EVERYTHING),
    ("SP", T, EXCEPTION, "open", None, "FORBIDDEN"),
    ("SP", E, EMERGENCY, "open", None, EVERYTHING),
    # Pharmacists see medications and critical information, on consent only.
    ("FA1", T, CONSENT, "open", None, PHARMACIST_VIEW),
    ("FA", T, CONSENT, "restricted", None, PHARMACIST_VIEW),
    ("FA1", T, EXCEPTION, "open", None, "FORBIDDEN"),
    # Break the glass overrides the authorisation's table, not a block or a reservation.
    ("FA1", B, EMERGENCY, "open", "anaphylaxis at the counter", EVERYTHING),
    # An ambulance worker may use the exception, for what an ambulance needs.
    ("AA", T, EXCEPTION, "open", None, _sections(
        "FORBIDDEN", demographics="open", criticalInformation="open", medications="open",
        generalPractitioner="open", ownRegistrations="open")),
    # Purpose and basis must fit together.
    ("LE", E, EXCEPTION, "open", None, "FORBIDDEN"),
    ("LE", E, CONSENT, "open", None, "FORBIDDEN"),
    ("LE", T, EMERGENCY, "open", None, "FORBIDDEN"),
    ("LE", B, EXCEPTION, "open", "reason", "FORBIDDEN"),
    ("LE", B, EMERGENCY, "open", None, "FORBIDDEN"),  # BTG without a reason
    # Authorisations outside the table get nothing.
    ("HP", T, CONSENT, "open", None, "FORBIDDEN"),
    ("XX", B, EMERGENCY, "open", "reason", "FORBIDDEN"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("authorisation", "purpose", "basis", "state", "reason", "expected"),
    TABLE,
    ids=[f"{a}-{p.value}-{b.value}-{s}" for a, p, b, s, _r, _e in TABLE],
)
def test_policy_table(  # noqa: PLR0917 - one row of the table
    authorisation: str,
    purpose: PurposeOfUse,
    basis: AccessBasis,
    state: str,
    reason: str | None,
    expected: str | dict[str, str],
) -> None:
    assert outcome(authorisation, purpose, basis, state, reason) == expected


@pytest.mark.parametrize(
    ("purpose", "basis", "reason"),
    [(T, EXCEPTION, None), (T, CONSENT, None), (E, EMERGENCY, None), (B, EMERGENCY, "reason")],
)
def test_a_blocked_professional_gets_nothing_on_any_basis_even_break_the_glass(
    purpose: PurposeOfUse, basis: AccessBasis, reason: str | None
) -> None:
    assert outcome("LE", purpose, basis, "blocking", reason, hpr=BLOCKED_HPR) == "BLOCKED"
    # The block names one HPR number; a colleague is not affected.
    assert outcome("LE", purpose, basis, "blocking", reason) == EVERYTHING


def test_every_combination_either_denies_or_decides_every_section() -> None:
    for authorisation, purpose, basis, state in itertools.product(
        ["LE", "SP", "FA1", "AA", "HP"], list(PurposeOfUse), list(AccessBasis), list(STATES)
    ):
        result = outcome(authorisation, purpose, basis, state, "reason")
        if isinstance(result, dict):
            assert set(result) == ALL_SECTIONS
            assert state != "reserved", "a reserved record never opens"
            if basis is EXCEPTION and state == "restricted":
                assert "opened" not in result.values(), "the exception never opens a restriction"
        else:
            assert result in {"FORBIDDEN", "RESERVED", "BLOCKED"}


def patient(pid: str = NIN) -> Actor:
    return Actor(ActorKind.PATIENT, "citizen", pid=pid)


def test_a_patient_sees_their_own_record_but_not_documents_and_their_restrictions_are_open() -> (
    None
):
    access = decide(patient(), StatedAccess(), NIN, RESTRICTED)
    assert access.section(DOCUMENTS).denial is not None
    assert access.section(DOCUMENTS).denial.code == "FORBIDDEN"  # type: ignore[union-attr]
    assert access.section(LAB_RESULTS).denial is None
    assert not access.section(LAB_RESULTS).restricted_opened, "their own restriction"
    assert access.section(MEDICATIONS).denial is None


def test_a_patient_sees_nobody_elses_record() -> None:
    with pytest.raises(AccessDenied) as denied:
        decide(patient(), StatedAccess(), OTHER_NIN, OPEN)
    assert denied.value.code == "FORBIDDEN"


def test_a_privacy_officer_reads_logs_and_alerts_but_never_a_summary() -> None:
    officer = Actor(ActorKind.PRIVACY_OFFICER, "officer", pid="15887540095")
    with pytest.raises(AccessDenied):
        decide(officer, StatedAccess(T, CONSENT), NIN, OPEN)
    assert check_log_reader(officer, NIN) is True
    check_alert_reader(officer)
    with pytest.raises(AccessDenied):
        check_status_reader(officer, NIN)


def test_the_access_log_is_for_the_patient_and_privacy_officers_only() -> None:
    assert check_log_reader(patient(), NIN) is False, "the patient's view is the summarised one"
    for actor, nin in [(patient(), OTHER_NIN), (clinician("LE"), NIN)]:
        with pytest.raises(AccessDenied):
            check_log_reader(actor, nin)
    with pytest.raises(AccessDenied):
        check_alert_reader(clinician("LE"))


def test_status_is_for_health_personnel_and_the_patient_themself() -> None:
    check_status_reader(clinician("SP"), NIN)
    check_status_reader(patient(), NIN)
    with pytest.raises(AccessDenied):
        check_status_reader(patient(), OTHER_NIN)
