"""Random data for the GP registry, prescriptions and visit history."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from mocks.core_resources import Person
from mocks.medicines import LONG_TERM_DRUGS, SHORT_COURSE_DRUGS, WITHDRAWAL_REASONS, Drug
from mocks.numbering import age_on
from mocks.profile import Profile
from mocks.record import RecordBuilder
from mocks.registry_resources import (
    add_encounter,
    add_gp_relation,
    add_medication_dispense,
    add_medication_request,
)
from mocks.timeline import Lifetime
from mocks.vocabulary import (
    GP_OFFICES,
    HOSPITAL_DOCTOR_COUNT,
    HOSPITALS,
    PHARMACIES,
    UNIVERSITY_HOSPITALS,
    Clinician,
    GpOffice,
    Hospital,
    Pharmacy,
    hospital_doctor,
)

T = TypeVar("T")

NPR_START = dt.date(2008, 1, 1)
_ENCOUNTER_CLASSES = ("AMB", "IMP", "SS", "EMER")
_ENCOUNTER_CLASS_WEIGHTS = (65, 15, 8, 12)


@dataclass(frozen=True, slots=True)
class Visit:
    """A visit as the generator knows it, for documents that follow from it."""

    hospital: Hospital
    department: str
    start: dt.datetime
    end: dt.datetime | None
    encounter_class: str


def weighted_sample(
    rng: random.Random, items: Sequence[T], weights: Sequence[float], k: int
) -> list[T]:
    """Up to ``k`` distinct items, likelier ones first more often."""
    pool, pool_weights = list(items), list(weights)
    chosen: list[T] = []
    while pool and len(chosen) < k:
        i = rng.choices(range(len(pool)), weights=pool_weights)[0]
        chosen.append(pool.pop(i))
        pool_weights.pop(i)
    return chosen


def some_hospital_doctor(rng: random.Random) -> Clinician:
    """A random hospital doctor (prescriber, recorder of critical information)."""
    return hospital_doctor(rng.randrange(HOSPITAL_DOCTOR_COUNT))


def add_gp(
    builder: RecordBuilder,
    rng: random.Random,
    person: Person,
    profile: Profile,
    life: Lifetime,
    *,
    chosen: tuple[GpOffice, Clinician] | None = None,
) -> Clinician | None:
    """The patient's GP relations; returns the current GP (None when there is none).

    ``chosen`` fixes the current GP (fixtures do); otherwise one near home is drawn.
    """
    if not profile.has_gp:
        return None
    local = [o for o in GP_OFFICES if o.municipality == person.municipality.number]
    office = rng.choice(local or GP_OFFICES)
    doctor = rng.choice(office.doctors)
    if chosen is not None:
        office, doctor = chosen
    start = life.moment(rng, life.years_back(12), life.end.date() - dt.timedelta(days=60)).date()
    if profile.previous_gp:
        old_office = rng.choice(GP_OFFICES)
        old_doctor = rng.choice(old_office.doctors)
        if old_doctor != doctor:
            old_start = life.moment(rng, life.years_back(25), start - dt.timedelta(days=400)).date()
            add_gp_relation(builder, old_office, old_doctor, min(old_start, start), start)
    end = life.deceased.date() if life.deceased else None
    add_gp_relation(builder, office, doctor, start, end)
    return None if life.deceased else doctor


def add_medications(
    builder: RecordBuilder,
    rng: random.Random,
    person: Person,
    profile: Profile,
    life: Lifetime,
    *,
    gp: Clinician | None,
    extra_drugs: Sequence[Drug] = (),
) -> list[Drug]:
    """Prescription chains renewed yearly, dispensed every few months; returns the drugs used."""
    eligible = [d for d in LONG_TERM_DRUGS if life.age >= d.min_age and d not in extra_drugs]
    drugs = [
        *extra_drugs,
        *weighted_sample(rng, eligible, [d.weight for d in eligible], profile.long_term_drugs),
    ]
    local = [p for p in PHARMACIES if p.municipality == person.municipality.number]
    pharmacy = rng.choice(local or PHARMACIES)
    history_start = life.years_back(3)
    for drug in drugs:
        prescriber = gp if gp is not None and rng.random() < 0.8 else some_hospital_doctor(rng)
        authored = life.moment(
            rng, history_start - dt.timedelta(days=300), history_start + dt.timedelta(days=500)
        )
        withdraw = rng.random() < profile.withdrawn_share
        while authored < life.end:
            is_last = authored + dt.timedelta(days=335) >= life.end
            withdrawn = None
            if is_last and withdraw:
                when = authored + dt.timedelta(days=rng.randint(10, 200), hours=2)
                if when < life.end:
                    withdrawn = (when, rng.choice(WITHDRAWAL_REASONS))
            _add_prescription(
                builder,
                rng,
                drug,
                authored,
                prescriber,
                life=life,
                withdrawn=withdrawn,
                pharmacy=pharmacy,
            )
            authored += dt.timedelta(days=rng.randint(330, 364))
    for _ in range(profile.short_courses):
        drug = rng.choice([d for d in SHORT_COURSE_DRUGS if life.age >= d.min_age])
        authored = life.moment(rng, history_start)
        prescriber = gp if gp is not None and rng.random() < 0.7 else some_hospital_doctor(rng)
        _add_prescription(
            builder,
            rng,
            drug,
            authored,
            prescriber,
            life=life,
            withdrawn=None,
            pharmacy=pharmacy,
            single=True,
        )
    return drugs


def _add_prescription(
    builder: RecordBuilder,
    rng: random.Random,
    drug: Drug,
    authored: dt.datetime,
    prescriber: Clinician,
    *,
    life: Lifetime,
    withdrawn: tuple[dt.datetime, str] | None,
    pharmacy: Pharmacy,
    single: bool = False,
) -> None:
    valid_until = authored + dt.timedelta(days=365)
    still_valid = valid_until > life.end and life.deceased is None
    dispense_until = min(valid_until, withdrawn[0] if withdrawn else valid_until, life.end)
    handovers: list[dt.datetime] = []
    handed_over = authored + dt.timedelta(days=rng.randint(0, 3), hours=rng.randint(1, 6))
    as_needed = "ved behov" in drug.dosage
    while handed_over < dispense_until and (not single or not handovers):
        if single and rng.random() < 0.15:
            break
        handovers.append(handed_over)
        gap = rng.randint(120, 240) if as_needed else rng.randint(80, 100)
        handed_over += dt.timedelta(days=gap, hours=rng.randint(-3, 3))
    fully_used = single and bool(handovers)
    status = "active" if still_valid and not fully_used else "completed"
    request = add_medication_request(
        builder, drug, authored, prescriber, status, withdrawn=withdrawn
    )
    for moment in handovers:
        shop = pharmacy if rng.random() < 0.85 else rng.choice(PHARMACIES)
        add_medication_dispense(builder, drug, request, moment, shop)


def department_fits(department: str, age: int, gender: str) -> bool:
    """Whether a patient of this age and gender is seen at ``department``."""
    if department == "Barne- og ungdomsklinikken":
        return age < 18
    if department == "Kvinneklinikken":
        return gender == "female" and age >= 14
    if department == "Geriatrisk avdeling":
        return age >= 65
    return True


def add_visits(
    builder: RecordBuilder, rng: random.Random, person: Person, profile: Profile, life: Lifetime
) -> list[Visit]:
    """Hospital visits since 2008 (and a few older ones NPR's date filter should hide)."""
    local = HOSPITALS[person.municipality.hospital]
    visits = []
    starts = [life.moment(rng, NPR_START) for _ in range(profile.visits)]
    if life.birth < NPR_START:
        starts += [
            life.moment(rng, dt.date(2003, 1, 1), NPR_START - dt.timedelta(days=1))
            for _ in range(profile.visits_before_2008)
        ]
    for start in starts:
        roll = rng.random()
        hospital = (
            local
            if roll < 0.75
            else HOSPITALS[rng.choice(UNIVERSITY_HOSPITALS)]
            if roll < 0.9
            else rng.choice(list(HOSPITALS.values()))
        )
        age = age_on(life.birth, start.date())
        departments = [d for d in hospital.departments if department_fits(d, age, person.gender)]
        department = rng.choice(departments or hospital.departments)
        encounter_class = rng.choices(_ENCOUNTER_CLASSES, weights=_ENCOUNTER_CLASS_WEIGHTS)[0]
        if department == "Akuttmottak":
            encounter_class = "EMER"
        duration = {
            "AMB": dt.timedelta(minutes=rng.randint(20, 90)),
            "EMER": dt.timedelta(hours=rng.randint(2, 9)),
            "SS": dt.timedelta(hours=rng.randint(4, 10)),
            "IMP": dt.timedelta(days=rng.randint(1, 14), hours=rng.randint(0, 6)),
        }[encounter_class]
        end: dt.datetime | None = start + duration
        if end is not None and end >= life.end:
            end = None if life.deceased is None else life.end
        add_encounter(
            builder,
            hospital,
            department,
            encounter_class=encounter_class,
            start=start,
            end=end,
            reported_as_wrong=rng.random() < 0.02,
        )
        visits.append(Visit(hospital, department, start, end, encounter_class))
    return visits
