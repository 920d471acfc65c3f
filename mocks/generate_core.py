"""Random core-record content: critical information, the patient's own registrations, privacy."""

from __future__ import annotations

import datetime as dt
import random

from mocks.clinical_codes import (
    COMMUNICATION_NEEDS,
    CRITICAL_DIAGNOSES,
    CRITICAL_FLAGS,
    DRUG_ALLERGENS,
    IMPLANTS,
    ONGOING_TREATMENTS,
    OTHER_ALLERGENS,
    PROCEDURE_CHANGES,
    REACTIONS,
    RELATIONS,
    SELF_REPORTED_CATEGORIES,
)
from mocks.core_resources import (
    Person,
    add_allergy,
    add_consent,
    add_critical_condition,
    add_flag,
    add_implant,
    add_procedure,
    add_related_person,
    add_self_reported_condition,
)
from mocks.generate_registries import some_hospital_doctor
from mocks.profile import Profile
from mocks.record import RecordBuilder
from mocks.timeline import Lifetime
from mocks.vocabulary import (
    FAMILY_NAMES,
    FEMALE_GIVEN_OLDER,
    FEMALE_GIVEN_YOUNGER,
    MALE_GIVEN_OLDER,
    MALE_GIVEN_YOUNGER,
)

CORE_RECORD_START = dt.date(2013, 6, 1)


def add_critical_information(
    builder: RecordBuilder, rng: random.Random, profile: Profile, life: Lifetime
) -> None:
    """Allergies, critical conditions, ongoing treatment, implants and critical flags."""
    for _ in range(profile.allergies):
        agent = rng.choice(DRUG_ALLERGENS) if rng.random() < 0.7 else rng.choice(OTHER_ALLERGENS)
        criticality = rng.choices(("high", "low", "unable-to-assess"), weights=(35, 50, 15))[0]
        severe = [r for r in REACTIONS if r[1] == "severe"]
        mild = [r for r in REACTIONS if r[1] != "severe"]
        reaction = rng.choice(severe if criticality == "high" else mild)
        verification = rng.choices(("confirmed", "unconfirmed", "refuted"), weights=(70, 25, 5))[0]
        allergy_type = "intolerance" if reaction[0] == "Kvalme og oppkast" else "allergy"
        add_allergy(
            builder,
            agent,
            life.moment(rng, CORE_RECORD_START),
            some_hospital_doctor(rng),
            criticality,
            reaction=reaction,
            verification=verification,
            allergy_type=allergy_type,
        )
    for diagnosis in rng.sample(CRITICAL_DIAGNOSES, profile.critical_conditions):
        add_critical_condition(
            builder, diagnosis, life.moment(rng, CORE_RECORD_START), some_hospital_doctor(rng)
        )
    for text, note in rng.sample(ONGOING_TREATMENTS, profile.ongoing_treatments):
        start = life.moment(rng, life.years_back(2))
        recorder = some_hospital_doctor(rng)
        add_procedure(builder, "ongoing-treatment", text, note=note, start=start, recorder=recorder)
    for text, note in rng.sample(PROCEDURE_CHANGES, profile.procedure_changes):
        start = life.moment(rng, CORE_RECORD_START)
        add_procedure(
            builder,
            "procedure-change",
            text,
            note=note,
            start=start,
            recorder=some_hospital_doctor(rng),
            status="completed",
        )
    for device, note in rng.sample(IMPLANTS, profile.implants):
        add_implant(builder, device, note, life.moment(rng, life.years_back(15)))
    categories = [c for c in CRITICAL_FLAGS if c != "treatment-limit" or life.age >= 70]
    for _ in range(profile.critical_flags):
        category = rng.choice(categories)
        text = rng.choice(CRITICAL_FLAGS[category])
        add_flag(
            builder, category, text, life.moment(rng, CORE_RECORD_START), some_hospital_doctor(rng)
        )


def add_own_registrations(
    builder: RecordBuilder, rng: random.Random, person: Person, profile: Profile, life: Lifetime
) -> None:
    """What the patient registered on the citizen portal: needs, diseases, next of kin."""
    portal_start = max(CORE_RECORD_START, life.birth + dt.timedelta(days=365 * 16))
    for need in rng.sample(COMMUNICATION_NEEDS, profile.communication_needs):
        add_flag(builder, "communication-need", need, life.moment(rng, portal_start), None)
    for category in rng.sample(SELF_REPORTED_CATEGORIES, profile.self_reported_conditions):
        add_self_reported_condition(builder, category, life.moment(rng, portal_start))
    relations = _possible_relations(life.age)
    for relation_code in rng.sample(relations, min(profile.next_of_kin, len(relations))):
        relative_older = relation_code in {"PRN", "SPS", "SIB", "FRND", "NBOR"} and life.age > 50
        given = _given_name(rng, rng.choice(("female", "male")), relative_older)
        family = (
            person.family
            if relation_code in {"SPS", "DAU", "SON", "PRN", "SIB"}
            else rng.choice(FAMILY_NAMES)
        )
        phone = f"+47{rng.choice('49')}{rng.randrange(10**6, 10**7)}"
        add_related_person(
            builder,
            RELATIONS[relation_code],
            given,
            family,
            phone=phone,
            registered=life.moment(rng, portal_start),
        )


def add_privacy_settings(
    builder: RecordBuilder, rng: random.Random, profile: Profile, life: Lifetime
) -> None:
    """Reservation, restrictions and blocks, as Consent resources."""
    if profile.reservation:
        add_consent(builder, "reservation", life.moment(rng, CORE_RECORD_START))
    if profile.restricted_sections:
        add_consent(
            builder,
            "restriction",
            life.moment(rng, CORE_RECORD_START),
            sections=profile.restricted_sections,
        )
    if profile.blocked_hpr_numbers:
        add_consent(
            builder,
            "block",
            life.moment(rng, CORE_RECORD_START),
            blocked_hpr_numbers=profile.blocked_hpr_numbers,
        )


def _possible_relations(age: int) -> list[str]:
    if age < 18:
        return ["PRN", "SIB"]
    if age < 45:
        return ["SPS", "PRN", "SIB", "FRND"]
    return ["SPS", "DAU", "SON", "SIB", "FRND", "NBOR"]


def _given_name(rng: random.Random, gender: str, older: bool) -> str:
    if gender == "female":
        return rng.choice(FEMALE_GIVEN_OLDER if older else FEMALE_GIVEN_YOUNGER)
    return rng.choice(MALE_GIVEN_OLDER if older else MALE_GIVEN_YOUNGER)


def given_names(rng: random.Random, gender: str, birth: dt.date) -> tuple[str, ...]:
    """One or two given names, in fashion for the birth year."""
    older = birth.year < 1975
    first = _given_name(rng, gender, older)
    if rng.random() < 0.25:
        second = _given_name(rng, gender, older)
        if second != first:
            return (first, second)
    return (first,)
