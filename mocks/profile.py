"""How much data a patient has in each registry, drawn so the population looks like a real one.

Most patients have little; some have a lot; the old have more medicines, visits and lab tests;
not everyone has a GP, lab results or documents. A ``Profile`` only holds counts and switches:
``mocks.generator`` turns it into resources, and fixtures write their own profiles by hand.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from mocks.core_resources import PRIVACY_SECTIONS
from mocks.vocabulary import HOSPITAL_DOCTOR_COUNT, hospital_doctor


@dataclass(frozen=True, slots=True)
class Profile:
    """Counts and switches per registry section for one patient."""

    long_term_drugs: int = 0
    short_courses: int = 0
    withdrawn_share: float = 0.05
    has_gp: bool = True
    previous_gp: bool = False
    visits: int = 0
    visits_before_2008: int = 0
    documents: int = 0
    lab_reports: int = 0
    covid_tests: int = 0
    blood_group: bool = False
    allergies: int = 0
    critical_conditions: int = 0
    ongoing_treatments: int = 0
    procedure_changes: int = 0
    implants: int = 0
    critical_flags: int = 0
    communication_needs: int = 0
    self_reported_conditions: int = 0
    next_of_kin: int = 0
    interpreter: bool = False
    reservation: bool = False
    restricted_sections: tuple[str, ...] = ()
    blocked_hpr_numbers: tuple[str, ...] = ()


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; means here are small)."""
    if mean <= 0:
        return 0
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _heavy_tail(rng: random.Random, count: int) -> int:
    """A few patients have several times the usual amount."""
    return count * rng.choice((2, 3)) if rng.random() < 0.05 else count


def _chance(rng: random.Random, probability: float, count: int = 1) -> int:
    return count if rng.random() < probability else 0


def random_profile(rng: random.Random, age: int) -> Profile:
    """A profile for a patient of ``age``, drawn from ``rng``."""
    drug_mean = (
        0.2 if age < 18 else 0.6 if age < 40 else 1.8 if age < 60 else 4.0 if age < 75 else 7.0
    )
    visit_mean = 1.5 + age / 12
    has_visits = rng.random() < (0.6 if age < 40 else 0.8)
    has_labs = rng.random() < (0.3 if age < 30 else 0.55 if age < 60 else 0.8)
    elderly = age >= 75
    reservation = rng.random() < 0.01
    restricted = (
        tuple(rng.sample(PRIVACY_SECTIONS, rng.randint(1, 3))) if rng.random() < 0.02 else ()
    )
    blocked = (
        (hospital_doctor(rng.randrange(HOSPITAL_DOCTOR_COUNT)).hpr_number,)
        if rng.random() < 0.005
        else ()
    )
    return Profile(
        long_term_drugs=_heavy_tail(rng, poisson(rng, drug_mean)),
        short_courses=poisson(rng, 0.6 + age / 60),
        has_gp=rng.random() < 0.94,
        previous_gp=rng.random() < 0.3,
        visits=_heavy_tail(rng, poisson(rng, visit_mean)) if has_visits else 0,
        visits_before_2008=_chance(rng, 0.05, rng.randint(1, 2)) if age > 20 else 0,
        documents=poisson(rng, 1.5 + age / 25) if rng.random() < 0.4 + age / 250 else 0,
        lab_reports=_heavy_tail(rng, 1 + poisson(rng, age / 12)) if has_labs else 0,
        covid_tests=_chance(rng, 0.12, rng.randint(1, 3)) if age >= 2 else 0,
        blood_group=rng.random() < 0.08,
        allergies=0 if reservation else _chance(rng, 0.12, rng.randint(1, 2)),
        critical_conditions=0 if reservation else _chance(rng, 0.04),
        ongoing_treatments=0 if reservation or age < 30 else _chance(rng, 0.012),
        procedure_changes=0 if reservation or age < 20 else _chance(rng, 0.01),
        implants=0 if reservation else _chance(rng, 0.08 if age >= 65 else 0.01),
        critical_flags=0 if reservation else _chance(rng, 0.1 if age >= 85 else 0.025),
        communication_needs=0 if reservation else _chance(rng, 0.1 if elderly else 0.01),
        self_reported_conditions=0 if reservation else _chance(rng, 0.06, rng.randint(1, 3)),
        next_of_kin=0 if reservation else _chance(rng, 0.6 if elderly else 0.35, rng.randint(1, 3)),
        interpreter=rng.random() < 0.04,
        reservation=reservation,
        restricted_sections=() if reservation else restricted,
        blocked_hpr_numbers=blocked,
    )
