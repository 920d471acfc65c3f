"""Who may see which part of a patient's summary, on what basis. Read it top to bottom.

The rules come from the Kjernejournal regulation (DOMAIN.md §2):

1. Only an authenticated caller gets anything (``gateway/access/tokens.py`` answers 401
   before this).
2. A privacy officer reads access logs and alerts, never a summary.
3. A patient sees their own summary, except clinical documents (as in the national citizen
   portal), and nobody else's.
4. Health personnel need an authorisation listed in ``SECTIONS_BY_AUTHORISATION`` and a purpose:
   - TREAT and COC need the basis CONSENT, or EXCEPTION where the profession may open the record
     without consent (``MAY_USE_EXCEPTION``: doctors, nurses, the emergency chain);
   - ETREAT needs the basis EMERGENCY;
   - BTG (break the glass) needs the basis EMERGENCY and a free-text reason, and opens every
     section whatever the authorisation's table says.
5. Then the patient's own privacy settings, read from the core record:
   - a reserved patient has no record: nothing is fetched or shown (RESERVED);
   - a caller the patient has blocked gets nothing, even in an emergency (BLOCKED);
   - a restricted section opens only on CONSENT or EMERGENCY, and opening it is flagged in the
     log; otherwise it is withheld (RESTRICTED).

Every denial is a ``AccessDenied`` with a stable code; a denied section is never fetched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.access.actor import AccessBasis, Actor, ActorKind, PurposeOfUse, StatedAccess
from gateway.access.hpr import canonical_hpr
from gateway.errors import GatewayError

# The sections of a summary, by their GraphQL field names on ``Patient``.
DEMOGRAPHICS = "demographics"
CRITICAL_INFORMATION = "criticalInformation"
MEDICATIONS = "medications"
GENERAL_PRACTITIONER = "generalPractitioner"
VISIT_HISTORY = "visitHistory"
DOCUMENTS = "documents"
LAB_RESULTS = "labResults"
OWN_REGISTRATIONS = "ownRegistrations"
ALL_SECTIONS = frozenset(
    {
        DEMOGRAPHICS,
        CRITICAL_INFORMATION,
        MEDICATIONS,
        GENERAL_PRACTITIONER,
        VISIT_HISTORY,
        DOCUMENTS,
        LAB_RESULTS,
        OWN_REGISTRATIONS,
    }
)

# Which sections each health-personnel authorisation (Volven 9060) sees on a normal access.
_PHARMACY = frozenset({DEMOGRAPHICS, CRITICAL_INFORMATION, MEDICATIONS, GENERAL_PRACTITIONER})
SECTIONS_BY_AUTHORISATION: dict[str, frozenset[str]] = {
    "LE": ALL_SECTIONS,  # doctor
    "SP": ALL_SECTIONS,  # nurse
    "FA": _PHARMACY,  # pharmacist
    "FA1": _PHARMACY,  # dispensing pharmacist (provisorfarmasøyt)
    "FA2": _PHARMACY,  # prescription pharmacist (reseptarfarmasøyt)
    # ambulance worker: what an emergency crew needs, not documents, labs or hospital history
    "AA": frozenset({*_PHARMACY, OWN_REGISTRATIONS}),
}

# Professions that may open the record without the patient's consent (the EXCEPTION basis).
# Nurses may too in specialist care and the emergency chain, but a token does not say where a
# nurse works, so a nurse states CONSENT (or EMERGENCY): the stricter reading.
MAY_USE_EXCEPTION = frozenset({"LE", "AA"})

# What a patient sees of their own record.
PATIENT_OWN_SECTIONS = ALL_SECTIONS - {DOCUMENTS}


class AccessDenied(GatewayError):
    """A denial; ``code`` says which rule denied."""

    code = "FORBIDDEN"


class Forbidden(AccessDenied):
    """The caller may not do this at all (role, authorisation, purpose, basis, other patient)."""

    code = "FORBIDDEN"


class Restricted(AccessDenied):
    """The patient restricted this section; consent or an emergency would open it."""

    code = "RESTRICTED"


class Blocked(AccessDenied):
    """The patient blocked this health professional; nothing opens it, not even BTG."""

    code = "BLOCKED"


class Reserved(AccessDenied):
    """The patient has opted out of the core record: there is no record to show."""

    code = "RESERVED"


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """The patient's own privacy settings, from the core record's Consent resources."""

    reserved: bool = False
    restricted_sections: frozenset[str] = frozenset()
    blocked_hpr_numbers: frozenset[str] = frozenset()
    """In their one spelling (``gateway/access/hpr.py``)."""


@dataclass(frozen=True, slots=True)
class SectionAccess:
    """The decision for one section: open (maybe a restricted one), or the denial."""

    denial: AccessDenied | None = None
    restricted_opened: bool = False


@dataclass(frozen=True, slots=True)
class PatientAccess:
    """The decisions for every section of one patient's summary, for one request."""

    sections: dict[str, SectionAccess] = field(default_factory=dict)

    def section(self, name: str) -> SectionAccess:
        """The decision for ``name``; a section the table does not know is forbidden."""
        return self.sections.get(name) or SectionAccess(Forbidden(_NOT_IN_ROLE))


_NOT_IN_ROLE = "your authorisation does not include this section"


def check_caller(actor: Actor, stated: StatedAccess, nin: str) -> frozenset[str]:
    """Rules 2-4: the sections this caller may ask for at all, before anything is fetched."""
    if actor.kind is ActorKind.PRIVACY_OFFICER:
        raise Forbidden("a privacy officer reads access logs, not patient summaries")
    if actor.kind is ActorKind.PATIENT:
        if actor.pid != nin:
            raise Forbidden("a patient can only see their own summary")
        return PATIENT_OWN_SECTIONS
    granted = frozenset().union(
        *(SECTIONS_BY_AUTHORISATION.get(code, frozenset()) for code in actor.authorizations)
    )
    if not granted:
        raise Forbidden("your health-personnel authorisation does not give access to the record")
    if stated.purpose is None or stated.basis is None:
        raise Forbidden("state a purpose of use and an access basis (see the README)")
    if stated.purpose is PurposeOfUse.BTG:
        if stated.basis is not AccessBasis.EMERGENCY:
            raise Forbidden("break the glass (BTG) needs the basis EMERGENCY")
        if not stated.btg_reason:
            raise Forbidden("break the glass (BTG) needs a reason (X-BTG-Reason)")
        return ALL_SECTIONS
    _check_basis(actor, stated.purpose, stated.basis)
    return granted


def _check_basis(actor: Actor, purpose: PurposeOfUse, basis: AccessBasis) -> None:
    if purpose is PurposeOfUse.ETREAT:
        if basis is not AccessBasis.EMERGENCY:
            raise Forbidden("the purpose ETREAT needs the basis EMERGENCY")
        return
    # TREAT and COC
    if basis is AccessBasis.EMERGENCY:
        raise Forbidden("the EMERGENCY basis goes with the purpose ETREAT or BTG")
    exception_allowed = any(code in MAY_USE_EXCEPTION for code in actor.authorizations)
    if basis is AccessBasis.EXCEPTION and not exception_allowed:
        raise Forbidden("your profession needs the patient's consent (basis CONSENT)")


def is_blocked(actor: Actor, privacy: PrivacySettings) -> bool:
    """Whether the patient has blocked ``actor``, compared in the HPR number's one spelling.
    A token whose HPR number has no such spelling is refused: it could not be matched to a
    block, so it must not pass one."""
    if actor.hpr_number is None:
        return False
    number = canonical_hpr(actor.hpr_number)
    if number is None:
        raise Forbidden("your token's HPR number is not a valid HPR number")
    return number in privacy.blocked_hpr_numbers


def decide(actor: Actor, stated: StatedAccess, nin: str, privacy: PrivacySettings) -> PatientAccess:
    """Rule 5: the decision for every section, given the patient's privacy settings."""
    granted = check_caller(actor, stated, nin)
    if privacy.reserved:
        raise Reserved("the patient has opted out of the core record (reservation)")
    if is_blocked(actor, privacy):
        raise Blocked("the patient has blocked your access to their record")
    opens_restricted = actor.kind is ActorKind.PATIENT or stated.basis in (
        AccessBasis.CONSENT,
        AccessBasis.EMERGENCY,
    )
    sections: dict[str, SectionAccess] = {}
    for name in ALL_SECTIONS:
        if name not in granted:
            sections[name] = SectionAccess(Forbidden(_NOT_IN_ROLE))
        elif name not in privacy.restricted_sections:
            sections[name] = SectionAccess()
        elif opens_restricted:
            sections[name] = SectionAccess(restricted_opened=actor.kind is not ActorKind.PATIENT)
        else:
            sections[name] = SectionAccess(
                Restricted(
                    "the patient has restricted this section; it opens with the basis CONSENT "
                    "or EMERGENCY"
                )
            )
    return PatientAccess(sections)


def check_status_reader(actor: Actor, nin: str) -> None:
    """``patientStatus``: health personnel for anyone, a patient for themself."""
    if actor.kind is ActorKind.HEALTH_PERSONNEL:
        return
    if actor.kind is ActorKind.PATIENT and actor.pid == nin:
        return
    raise Forbidden("the privacy status is for health personnel and the patient")


def check_log_reader(actor: Actor, nin: str | None) -> bool:
    """``accessLog``: a patient reads their own (summarised); a privacy officer any (in full).

    Returns whether the full detail may be shown.
    """
    if actor.kind is ActorKind.PRIVACY_OFFICER:
        return True
    if actor.kind is ActorKind.PATIENT and nin is not None and actor.pid == nin:
        return False
    raise Forbidden("the access log is for the patient and privacy officers")


def check_alert_reader(actor: Actor) -> None:
    """``privacyAlerts``: privacy officers only."""
    if actor.kind is not ActorKind.PRIVACY_OFFICER:
        raise Forbidden("privacy alerts are for privacy officers")


# Writing. Who may register, update and retire critical information (DOMAIN.md §2): doctors
# every kind; nurses only the ongoing treatments the national rules give them; nobody else.
# Writing needs the same lawful access as reading the section (purpose, basis, no block, no
# reservation, an open or opened criticalInformation section).
ALLERGY = "allergy"
CRITICAL_CONDITION = "criticalCondition"
ONGOING_TREATMENT = "ongoingTreatment"
IMPLANT = "implant"
PROCEDURE_CHANGE = "procedureChange"
CRITICAL_KINDS = frozenset(
    {ALLERGY, CRITICAL_CONDITION, ONGOING_TREATMENT, IMPLANT, PROCEDURE_CHANGE}
)

NURSE_TREATMENTS = frozenset({"radiotherapy", "cytostatics", "dialysis"})
"""The ongoing treatments a nurse may register, update and retire."""

CRITICAL_WRITERS: dict[str, frozenset[str]] = {
    "LE": CRITICAL_KINDS,  # doctor: every kind
    "SP": frozenset({ONGOING_TREATMENT}),  # nurse: only NURSE_TREATMENTS, checked below
}


def check_critical_kind(actor: Actor, kind: str) -> None:
    """The first, cheap check (nothing read yet): could this caller write ``kind`` at all?"""
    if actor.kind is ActorKind.HEALTH_PERSONNEL and any(
        kind in CRITICAL_WRITERS.get(code, frozenset()) for code in actor.authorizations
    ):
        return
    raise Forbidden(
        "your authorisation does not let you write this kind of critical information (doctors "
        "write every kind; nurses only the ongoing treatments radiotherapy, cytostatics and "
        "dialysis)"
    )


def check_critical_writer(
    actor: Actor,
    stated: StatedAccess,
    nin: str,
    privacy: PrivacySettings,
    *,
    kind: str,
    treatment: str | None = None,
    treatment_known: bool = True,
) -> SectionAccess:
    """May this caller write critical information of ``kind`` (an ongoing treatment's type in
    ``treatment``) for ``nin``? Returns the section's decision (a restricted section opened is
    flagged in the log); raises the denial otherwise.

    ``treatment_known=False`` checks all but the treatment's type: before an existing entry is
    read, so that a caller who may not write at all (blocked, no basis) learns nothing about
    which entries exist. The full check follows once the entry is read."""
    if actor.kind is not ActorKind.HEALTH_PERSONNEL:
        raise Forbidden("only health personnel write critical information")
    decision = decide(actor, stated, nin, privacy).section(CRITICAL_INFORMATION)
    if decision.denial is not None:
        raise decision.denial
    for code in actor.authorizations:
        kinds = CRITICAL_WRITERS.get(code, frozenset())
        if kind not in kinds:
            continue
        if code == "SP" and treatment_known and treatment not in NURSE_TREATMENTS:
            continue
        return decision
    raise Forbidden(
        "your authorisation does not let you write this kind of critical information (nurses: "
        "only the ongoing treatments radiotherapy, cytostatics and dialysis)"
    )


def check_own_registration_writer(actor: Actor, nin: str) -> None:
    """The patient's own registrations and privacy settings: the patient, on their own record,
    and nobody else (not even their doctor)."""
    if actor.kind is not ActorKind.PATIENT or actor.pid != nin:
        raise Forbidden("only the patient can change their own registrations and privacy settings")
