"""Turn a patient index into a full, deterministic record across all six registries.

``generate_record`` seeds one ``random.Random`` per patient (``f"{seed}:{index}"``), so any patient
can be generated alone, in any order, and always comes out the same.
"""

from __future__ import annotations

import datetime as dt
import random

from mocks.clinical_codes import INTERPRETER_LANGUAGES
from mocks.core_resources import Person, add_patient
from mocks.datatypes import REFERENCE_TIME, at
from mocks.generate_core import (
    add_critical_information,
    add_own_registrations,
    add_privacy_settings,
    given_names,
)
from mocks.generate_registries import add_gp, add_medications, add_visits
from mocks.generate_reports import add_documents, add_lab_results
from mocks.identity_numbers import number
from mocks.medicines import Drug
from mocks.numbering import age_on
from mocks.profile import Profile, random_profile
from mocks.record import PatientRecord, RecordBuilder
from mocks.timeline import Lifetime
from mocks.vocabulary import FAMILY_NAMES, MUNICIPALITIES, Clinician, GpOffice


def gender_of(nin: str) -> str:
    """``male`` or ``female`` from the individual number's last digit (odd is male)."""
    return "male" if int(nin[8]) % 2 else "female"


def random_death(rng: random.Random, birth: dt.date) -> dt.datetime | None:
    """Whether (and when, within the last eight years) the patient died; likelier when old."""
    age = age_on(birth)
    probability = 0.12 if age >= 85 else 0.05 if age >= 70 else 0.01 if age >= 40 else 0.002
    if rng.random() >= probability:
        return None
    earliest = max(birth + dt.timedelta(days=30), REFERENCE_TIME.date() - dt.timedelta(days=2920))
    span = (REFERENCE_TIME.date() - earliest).days - 1
    day = earliest + dt.timedelta(days=rng.randint(0, max(span, 0)))
    return at(day, rng.randint(0, 23), rng.choice((5, 20, 40)))


def random_person(
    rng: random.Random,
    birth: dt.date,
    gender: str,
    deceased: dt.datetime | None,
    interpreter: bool,
) -> Person:
    """Name, home municipality and language for a patient born on ``birth``."""
    language = rng.choice(INTERPRETER_LANGUAGES) if interpreter else None
    return Person(
        given=given_names(rng, gender, birth),
        family=rng.choice(FAMILY_NAMES),
        gender=gender,
        birth_date=birth,
        municipality=rng.choice(MUNICIPALITIES),
        deceased=deceased,
        language=language,
        interpreter_required=True if interpreter else None,
    )


def populate(
    builder: RecordBuilder,
    rng: random.Random,
    person: Person,
    profile: Profile,
    *,
    extra_drugs: tuple[Drug, ...] = (),
    gp: tuple[GpOffice, Clinician] | None = None,
) -> None:
    """Add every registry's data for ``person`` as ``profile`` says, drawing details from ``rng``.

    ``extra_drugs`` are long-term medicines the patient uses on top of the drawn ones; ``gp``
    fixes the current GP.
    """
    life = Lifetime(person.birth_date, person.deceased)
    add_patient(builder, person)
    current_gp = add_gp(builder, rng, person, profile, life, chosen=gp)
    drugs = add_medications(
        builder, rng, person, profile, life, gp=current_gp, extra_drugs=extra_drugs
    )
    visits = add_visits(builder, rng, person, profile, life)
    add_documents(builder, rng, person, profile.documents, life, visits=visits)
    add_lab_results(
        builder,
        rng,
        life,
        drugs,
        reports=profile.lab_reports,
        covid_tests=profile.covid_tests,
        blood_group=profile.blood_group,
    )
    add_critical_information(builder, rng, profile, life)
    add_own_registrations(builder, rng, person, profile, life)
    add_privacy_settings(builder, rng, profile, life)


def generate_record(seed: int, index: int, nin: str) -> PatientRecord:
    """The record of generated patient ``index`` (whose number is ``nin``) for ``seed``."""
    rng = random.Random(f"{seed}:{index}")
    birth = number(nin).birth_date
    deceased = random_death(rng, birth)
    age = age_on(birth, (deceased or REFERENCE_TIME).date())
    profile = random_profile(rng, age)
    person = random_person(rng, birth, gender_of(nin), deceased, profile.interpreter)
    builder = RecordBuilder(nin, f"pt{index}")
    populate(builder, rng, person, profile)
    return builder.build()
