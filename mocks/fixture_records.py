"""The hand-shaped records behind ``mocks.fixtures.FIXTURES``.

Each fixture starts from a ``Profile`` written by hand (the generator fills in ordinary detail
from a random source seeded by the fixture's key) and then gets the entries that make it the
fixture it is, added explicitly so tests can rely on them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from mocks.clinical_codes import (
    CRITICAL_DIAGNOSES,
    DRUG_ALLERGENS,
    INTERPRETER_LANGUAGES,
    RELATIONS,
    Language,
)
from mocks.core_resources import (
    Person,
    add_allergy,
    add_critical_condition,
    add_flag,
    add_implant,
    add_procedure,
    add_related_person,
)
from mocks.datatypes import OSLO, at
from mocks.fixtures import BLOCKED_HPR_NUMBER, Fixture, persona
from mocks.generate_reports import add_covid_test
from mocks.generator import gender_of, populate
from mocks.identity_numbers import number
from mocks.medicines import Drug, drug
from mocks.profile import Profile
from mocks.record import PatientRecord, RecordBuilder
from mocks.registry_resources import add_medication_dispense, add_medication_request
from mocks.vocabulary import (
    GP_OFFICES,
    LABORATORIES,
    MUNICIPALITIES,
    PHARMACIES,
    Clinician,
    GpOffice,
    hospital_doctor,
)

_Extras = Callable[[RecordBuilder], None]


def build_fixture_record(fx: Fixture) -> PatientRecord:
    """The record of fixture ``fx``; the same on every call."""
    person, profile, drugs, gp, extras = _SHAPES[fx.key](fx)
    builder = RecordBuilder(fx.nin, f"fx-{fx.key}", fixture_key=fx.key)
    rng = random.Random(f"fixture:{fx.key}")
    populate(builder, rng, person, profile, extra_drugs=drugs, gp=gp)
    extras(builder)
    return builder.build()


def _person(
    fx: Fixture,
    municipality: str,
    deceased: dt.datetime | None = None,
    language: Language | None = None,
    interpreter_required: bool | None = None,
) -> Person:
    *given, family = fx.name.split()
    return Person(
        given=tuple(given),
        family=family,
        gender=gender_of(fx.nin),
        birth_date=number(fx.nin).birth_date,
        municipality=next(m for m in MUNICIPALITIES if m.number == municipality),
        deceased=deceased,
        language=language,
        interpreter_required=interpreter_required,
    )


def _gp(office_name: str) -> tuple[GpOffice, Clinician]:
    office = next(o for o in GP_OFFICES if o.name == office_name)
    return office, office.doctors[0]


def _nothing(builder: RecordBuilder) -> None:
    del builder


def _clinician(persona_key: str) -> Clinician:
    p = persona(persona_key)
    return Clinician(p.hpr_number, p.given, p.family)


_Shape = tuple[Person, Profile, tuple[Drug, ...], tuple[GpOffice, Clinician] | None, _Extras]


def _home_care_elderly(fx: Fixture) -> _Shape:
    drugs = tuple(
        drug(atc)
        for atc in (
            "B01AF02", "C07AB02", "C03CA01", "C10AA01", "A02BC01", "N02BE01", "A06AD65",
            "A12AX", "N06AX11", "N05CF01", "H03AA01", "N06DA02", "S01EE01", "M05BA04",
            "B03BA01", "C09CA01",
        )
    )  # fmt: skip
    profile = Profile(
        short_courses=10,
        withdrawn_share=0.25,
        previous_gp=True,
        visits=24,
        visits_before_2008=2,
        documents=8,
        lab_reports=14,
        covid_tests=1,
        self_reported_conditions=1,
    )

    def extras(builder: RecordBuilder) -> None:
        gp = _clinician("home-care-gp")
        aspirin = drug("B01AC06")
        add_medication_request(
            builder,
            aspirin,
            at(dt.date(2024, 2, 5)),
            gp,
            "completed",
            withdrawn=(at(dt.date(2024, 9, 16), 11), "Byttet til annet preparat (Eliquis)"),
        )
        penicillin = DRUG_ALLERGENS[0]
        add_allergy(
            builder, penicillin, at(dt.date(2016, 4, 11)), gp, "low", reaction=("Utslett", "mild")
        )
        add_flag(
            builder,
            "treatment-limit",
            "Ikke aktuelt med hjerte-lunge-redning",
            at(dt.date(2025, 3, 3)),
            gp,
        )
        add_flag(
            builder, "communication-need", "Hørselshemmet - bruker høreapparat",
            at(dt.date(2022, 5, 20)), None,
        )  # fmt: skip
        registered = at(dt.date(2021, 8, 9))
        add_related_person(
            builder, RELATIONS["DAU"], "Kari", "Haugen", phone="+4791234567", registered=registered
        )
        add_related_person(
            builder, RELATIONS["SON"], "Per", "Haugen", phone="+4741234567", registered=registered
        )

    person = _person(fx, "3405")
    return person, profile, drugs, _gp("Lillehammer legesenter"), extras


def _ordinary(
    municipality: str, gp_office: str | None, profile: Profile
) -> Callable[[Fixture], _Shape]:
    def shape(fx: Fixture) -> _Shape:
        gp = _gp(gp_office) if gp_office else None
        return _person(fx, municipality), profile, (), gp, _nothing

    return shape


def _deceased(fx: Fixture) -> _Shape:
    person = _person(fx, "1804", deceased=dt.datetime(2025, 12, 14, 3, 20, tzinfo=OSLO))
    profile = Profile(long_term_drugs=6, short_courses=2, visits=12, documents=4, lab_reports=8)
    return person, profile, (), _gp("Sentrum legesenter Bodø"), _nothing


def _d_number(fx: Fixture) -> _Shape:
    polish = next(lang for lang in INTERPRETER_LANGUAGES if lang.code == "pl")
    person = _person(fx, "0301", language=polish, interpreter_required=True)
    profile = Profile(long_term_drugs=1, short_courses=1, visits=2, lab_reports=1)
    return person, profile, (), _gp("Grünerløkka legesenter"), _nothing


def _critical_allergies(fx: Fixture) -> _Shape:
    profile = Profile(long_term_drugs=4, short_courses=1, visits=30, documents=5, lab_reports=10)
    drugs = (drug("C03CA01"), drug("C07AB02"))

    def extras(builder: RecordBuilder) -> None:
        nephrologist = hospital_doctor(4)
        penicillin, ibuprofen, contrast = DRUG_ALLERGENS[0], DRUG_ALLERGENS[1], DRUG_ALLERGENS[4]
        add_allergy(
            builder, penicillin, at(dt.date(2014, 9, 2)), nephrologist, "high",
            reaction=("Anafylaksi", "severe"),
        )  # fmt: skip
        add_allergy(
            builder, ibuprofen, at(dt.date(2018, 1, 22)), nephrologist, "high",
            reaction=("Angioødem", "severe"),
        )  # fmt: skip
        add_allergy(
            builder, contrast, at(dt.date(2021, 6, 14)), nephrologist, "unable-to-assess",
            reaction=("Urtikaria", "moderate"), verification="unconfirmed",
        )  # fmt: skip
        add_flag(
            builder,
            "anaesthesia-complication",
            "Malign hypertermi - unngå inhalasjonsanestetika (N01AB) og suksametonium",
            at(dt.date(2015, 3, 9)),
            nephrologist,
        )
        add_implant(
            builder, "Pacemaker", "Ikke MR uten avklaring med kardiolog.", at(dt.date(2019, 10, 1))
        )
        add_procedure(
            builder, "ongoing-treatment", "Dialyse",
            note="Hemodialyse mandag, onsdag og fredag. AV-fistel venstre arm: ikke blodtrykk der.",
            start=at(dt.date(2024, 4, 8)), recorder=nephrologist,
        )  # fmt: skip
        kidney = next(d for d in CRITICAL_DIAGNOSES if d.icd10 == "N18.5")
        add_critical_condition(builder, kidney, at(dt.date(2024, 3, 20)), nephrologist)

    return _person(fx, "4203"), profile, drugs, _gp("Arendal legesenter"), extras


def _reserved(fx: Fixture) -> _Shape:
    profile = Profile(
        long_term_drugs=2, short_courses=1, visits=4, documents=2, lab_reports=3, reservation=True
    )
    return _person(fx, "3403"), profile, (), _gp("Hamar legesenter"), _nothing


def _restricted_sections(fx: Fixture) -> _Shape:
    profile = Profile(
        long_term_drugs=1,
        short_courses=2,
        visits=4,
        documents=3,
        lab_reports=4,
        restricted_sections=("documents", "labResults"),
        next_of_kin=1,
    )
    return _person(fx, "0301"), profile, (), _gp("Majorstuen legesenter"), _nothing


def _blocked_hpr(fx: Fixture) -> _Shape:
    profile = Profile(
        long_term_drugs=2,
        short_courses=1,
        visits=6,
        documents=2,
        lab_reports=3,
        blocked_hpr_numbers=(BLOCKED_HPR_NUMBER,),
    )

    def extras(builder: RecordBuilder) -> None:
        blocked = _clinician("blocked-doctor")
        add_medication_request(
            builder, drug("N02AJ06"), at(dt.date(2023, 2, 11), 3, 40), blocked, "completed"
        )
        add_allergy(
            builder, DRUG_ALLERGENS[3], at(dt.date(2023, 2, 11), 4), blocked, "low",
            reaction=("Kvalme og oppkast", "mild"), allergy_type="intolerance",
        )  # fmt: skip

    return _person(fx, "3105"), profile, (), _gp("Kalnes legesenter"), extras


def _covid_tested(fx: Fixture) -> _Shape:
    profile = Profile(long_term_drugs=3, short_courses=1, visits=5, documents=1, lab_reports=4)

    def extras(builder: RecordBuilder) -> None:
        ous, _, _, sorlandet = (lab for lab in LABORATORIES if lab.msis)
        add_covid_test(builder, ous, at(dt.date(2020, 11, 3), 9), positive=False)
        add_covid_test(builder, sorlandet, at(dt.date(2021, 12, 20), 13), positive=True)
        add_covid_test(builder, sorlandet, at(dt.date(2022, 1, 5), 10), positive=False)

    return _person(fx, "4203"), profile, (), _gp("Arendal legesenter"), extras


def _many_medicines(fx: Fixture) -> _Shape:
    # The flags depend on today's date (expiring, active, never dispensed), so this record is
    # dated from the day it is built, not from REFERENCE_TIME: the flags hold on any day.
    today = dt.date.today()

    def day(offset: int, hour: int = 10) -> dt.datetime:
        return at(today + dt.timedelta(days=offset), hour)

    def extras(builder: RecordBuilder) -> None:
        gp = _clinician("home-care-gp")
        pharmacy = next(p for p in PHARMACIES if p.name == "Boots apotek Lillehammer")
        # Ordinary rows: active, dispensed, nothing to act on.
        for atc, since in (("A10BA02", 120), ("C09AA05", 200), ("A02BC01", 90), ("C03CA01", 60)):
            request = add_medication_request(builder, drug(atc), day(-since), gp, "active")
            add_medication_dispense(builder, drug(atc), request, day(-since + 2, 14), pharmacy)
        # Two active prescriptions of the same substance (ATC B01AA03).
        warfarin = drug("B01AA03")
        first = add_medication_request(builder, warfarin, day(-60), gp, "active")
        add_medication_dispense(builder, warfarin, first, day(-58, 13), pharmacy)
        add_medication_request(builder, warfarin, day(-30), hospital_doctor(2), "active")
        # Expiring within 30 days: valid 365 days from 350 days ago.
        statin = drug("C10AA05")
        expiring = add_medication_request(builder, statin, day(-350), gp, "active")
        add_medication_dispense(builder, statin, expiring, day(-40, 12), pharmacy, packs=2)
        # Prescribed, never dispensed.
        add_medication_request(builder, drug("N05CF01"), day(-5), gp, "active")
        # Dispensed on a prescription that had expired (valid 365 days from 500 days ago).
        oxycodone = drug("N02AA05")
        expired = add_medication_request(builder, oxycodone, day(-500), gp, "completed")
        add_medication_dispense(builder, oxycodone, expired, day(-3, 11), pharmacy)
        # Withdrawn, then dispensed anyway.
        ibuprofen = drug("M01AE01")
        withdrawn = add_medication_request(
            builder, ibuprofen, day(-45), gp, "completed",
            withdrawn=(day(-30, 9), "Interaksjon med warfarin"),
        )  # fmt: skip
        add_medication_dispense(builder, ibuprofen, withdrawn, day(-10, 15), pharmacy)
        # Withdrawn long ago after it was dispensed: shown withdrawn, nothing to act on.
        paracetamol = drug("N02BE01")
        old = add_medication_request(
            builder, paracetamol, day(-300), gp, "completed",
            withdrawn=(day(-200, 9), "Ikke lenger behov"),
        )  # fmt: skip
        add_medication_dispense(builder, paracetamol, old, day(-298, 12), pharmacy)

    person = _person(fx, "3405")
    return person, Profile(), (), _gp("Lillehammer legesenter"), extras


_SHAPES: dict[str, Callable[[Fixture], _Shape]] = {
    "home-care-elderly": _home_care_elderly,
    "no-gp": _ordinary(
        "4601",
        None,
        Profile(has_gp=False, long_term_drugs=1, short_courses=2, visits=3, documents=1,
                lab_reports=2, next_of_kin=1),
    ),
    "empty-lab-registry": _ordinary(
        "5001",
        "Bakklandet legesenter",
        Profile(long_term_drugs=2, short_courses=1, visits=5, documents=2, allergies=1),
    ),
    "deceased": _deceased,
    "d-number": _d_number,
    "critical-allergies": _critical_allergies,
    "reserved": _reserved,
    "restricted-sections": _restricted_sections,
    "blocked-hpr": _blocked_hpr,
    "covid-tested": _covid_tested,
    "many-medicines": _many_medicines,
    "minimal": _ordinary("5501", "Tromsø legesenter", Profile()),
}  # fmt: skip
