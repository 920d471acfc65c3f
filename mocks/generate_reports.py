"""Random documents (with their content) and lab results."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from mocks.clinical_codes import (
    BLOOD_GROUP_DISPLAY,
    BLOOD_GROUP_LOINC,
    BLOOD_GROUPS,
    COVID_TEST_DISPLAY,
    COVID_TEST_LOINC,
    LAB_PANELS,
    LAB_TESTS,
    SNOMED_DETECTED,
    SNOMED_NOT_DETECTED,
    LabTest,
)
from mocks.core_resources import Person
from mocks.datatypes import SYSTEM_SNOMED, Resource, concept, quantity
from mocks.document_content import PDF, TEXT_PLAIN, render_pdf, render_text
from mocks.generate_registries import Visit, department_fits
from mocks.medicines import Drug
from mocks.numbering import age_on
from mocks.record import RecordBuilder
from mocks.registry_resources import ObservationValue, add_document, add_lab_report
from mocks.timeline import Lifetime
from mocks.vocabulary import HOSPITALS, LABORATORIES, Hospital, Laboratory

_DOCUMENT_TYPES = ("18842-5", "11502-2", "18748-4", "57133-1")
_DOCUMENT_TYPE_WEIGHTS = (40, 15, 25, 20)
_IMAGING = (
    "Røntgen thorax",
    "CT caput",
    "MR kne",
    "Ultralyd abdomen",
    "Røntgen hofte",
    "CT thorax",
)
SYSTEM_OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
COVID_START = dt.date(2020, 7, 1)
COVID_END = dt.date(2023, 6, 30)


def add_documents(
    builder: RecordBuilder,
    rng: random.Random,
    person: Person,
    count: int,
    life: Lifetime,
    *,
    visits: Sequence[Visit],
) -> None:
    """Epicrises, lab and imaging reports and referrals, mostly following a visit."""
    local = HOSPITALS[person.municipality.hospital]
    for _ in range(count):
        type_code = rng.choices(_DOCUMENT_TYPES, weights=_DOCUMENT_TYPE_WEIGHTS)[0]
        inpatient = [v for v in visits if v.encounter_class == "IMP" and v.end is not None]
        if type_code == "18842-5" and inpatient:
            visit = rng.choice(inpatient)
            assert visit.end is not None
            hospital, department = visit.hospital, visit.department
            when = min(
                visit.end + dt.timedelta(days=rng.randint(0, 3)), life.end - dt.timedelta(hours=1)
            )
        else:
            when = life.moment(rng, life.years_back(10))
            age = age_on(person.birth_date, when.date())
            fitting = [d for d in local.departments if department_fits(d, age, person.gender)]
            hospital, department = local, rng.choice(fitting or local.departments)
        add_document_with_content(
            builder, rng, person, type_code, when, hospital=hospital, department=department
        )


def add_document_with_content(
    builder: RecordBuilder,
    rng: random.Random,
    person: Person,
    type_code: str,
    when: dt.datetime,
    *,
    hospital: Hospital,
    department: str,
) -> None:
    """One document of ``type_code`` with synthetic text, as plain text or PDF."""
    title, body = _document_text(rng, type_code, department, when)
    header = [
        f"Pasient: {' '.join(person.given)} {person.family}",
        f"Identitetsnummer: {builder.nin}",
        f"{hospital.name}, {department}",
        f"Dato: {when.date().isoformat()}",
    ]
    as_pdf = rng.random() < 0.3
    content = render_pdf(title, header, body) if as_pdf else render_text(title, header, body)
    add_document(
        builder,
        type_code,
        when,
        hospital,
        title=title,
        content_type=PDF if as_pdf else TEXT_PLAIN,
        content=content,
    )


def _document_text(
    rng: random.Random, type_code: str, department: str, when: dt.datetime
) -> tuple[str, list[str]]:
    if type_code == "18842-5":
        return f"Epikrise - {department}", [
            "Innleggelsesårsak: Innlagt til observasjon og utredning.",
            "Forløp: Stabilt forløp under oppholdet. Mobilisert uten problemer.",
            "Medikamentendringer: Se oppdatert legemiddelliste.",
            "Videre plan: Kontroll hos fastlege om 2 uker.",
            "(Syntetisk dokument for test og demonstrasjon.)",
        ]
    if type_code == "18748-4":
        examination = rng.choice(_IMAGING)
        return examination, [
            f"Undersøkelse: {examination}",
            "Beskrivelse: Ingen sikre patologiske funn. Normale forhold for alder.",
            "Konklusjon: Normal undersøkelse.",
            "(Syntetisk dokument for test og demonstrasjon.)",
        ]
    if type_code == "57133-1":
        return f"Henvisning til {department}", [
            "Problemstilling: Ønsker vurdering og eventuell videre utredning.",
            "Aktuelt: Plager gjennom flere måneder, økende.",
            "(Syntetisk dokument for test og demonstrasjon.)",
        ]
    return "Laboratoriesvar", [
        f"Prøve tatt {when.date().isoformat()}.",
        "Hemoglobin 13,5 g/dL (11,7-17,0). CRP < 5 mg/L.",
        "(Syntetisk dokument for test og demonstrasjon.)",
    ]


def quantity_result(rng: random.Random, test: LabTest, shift: float = 0.0) -> ObservationValue:
    """A plausible numeric result for ``test`` with its reference range and interpretation."""
    value = max(test.typical + shift + rng.gauss(0, test.spread), test.spread / 10)
    value = round(value, test.decimals) if test.decimals else float(round(value))
    interpretation = "N"
    if test.high is not None and value > test.high:
        interpretation = "H"
    elif test.low is not None and value < test.low:
        interpretation = "L"
    reference: Resource = {}
    if test.low is not None:
        reference["low"] = quantity(test.low, test.unit)
    if test.high is not None:
        reference["high"] = quantity(test.high, test.unit)
    return ObservationValue(
        test.loinc,
        test.display,
        "valueQuantity",
        quantity(value, test.unit),
        interpretation,
        reference,
    )


def covid_result(positive: bool) -> ObservationValue:
    """A SARS-CoV-2 PCR result (LOINC 94500-6), detected or not."""
    code, display, text = SNOMED_DETECTED if positive else SNOMED_NOT_DETECTED
    return ObservationValue(
        COVID_TEST_LOINC,
        COVID_TEST_DISPLAY,
        "valueCodeableConcept",
        concept(SYSTEM_SNOMED, code, display, text=text),
        "POS" if positive else "NEG",
        {"text": "Ikke påvist"},
    )


def laboratory_report(
    builder: RecordBuilder,
    code: str,
    display: str,
    laboratory: Laboratory,
    *,
    taken: dt.datetime,
    results: list[ObservationValue],
) -> Resource:
    """A lab report (``add_lab_report``) whose Observations carry the category laboratory, as
    US Core lab results do: the registry is searched by that category too."""
    report = add_lab_report(builder, code, display, laboratory, taken=taken, results=results)
    for reference in report["result"]:
        observation_id = reference["reference"].partition("/")[2]
        # add_shared answers the resource already held under that id: the one just added.
        observation = builder.add_shared("Observation", observation_id, taken, {})
        observation["category"] = [concept(SYSTEM_OBSERVATION_CATEGORY, "laboratory", "Laboratory")]
    return report


def add_covid_test(
    builder: RecordBuilder, lab: Laboratory, taken: dt.datetime, positive: bool
) -> None:
    """A Covid-19 test report from an MSIS laboratory."""
    laboratory_report(
        builder,
        COVID_TEST_LOINC,
        COVID_TEST_DISPLAY,
        lab,
        taken=taken,
        results=[covid_result(positive)],
    )


def add_lab_results(
    builder: RecordBuilder,
    rng: random.Random,
    life: Lifetime,
    drugs: Sequence[Drug],
    *,
    reports: int,
    covid_tests: int,
    blood_group: bool,
) -> None:
    """Lab reports over the last six years; panels follow the patient's medicines."""
    atcs = {d.atc for d in drugs}
    weights = {
        "58410-2": 5,
        "24362-6": 5,
        "1988-5": 5,
        "57698-3": 2,
        "59261-8": 1,
        "6301-6": 0,
        "3016-3": 2,
        "2276-4": 1,
        "1742-6": 1,
    }
    if "B01AA03" in atcs:
        weights["6301-6"] = 8
    if atcs & {"A10BA02", "A10AE04", "A10BK01"}:
        weights["59261-8"] = 6
    if "H03AA01" in atcs:
        weights["3016-3"] = 5
    routine_labs = [lab for lab in LABORATORIES if not lab.msis]
    for _ in range(reports):
        panel = rng.choices(LAB_PANELS, weights=[weights[p.loinc] for p in LAB_PANELS])[0]
        results = [
            quantity_result(rng, LAB_TESTS[code], _shift(code, atcs)) for code in panel.tests
        ]
        taken = life.moment(rng, life.years_back(6))
        laboratory_report(
            builder,
            panel.loinc,
            panel.display,
            rng.choice(routine_labs),
            taken=taken,
            results=results,
        )
    msis_labs = [lab for lab in LABORATORIES if lab.msis]
    for _ in range(covid_tests):
        taken = life.moment(rng, COVID_START, COVID_END)
        if taken.date() >= COVID_START:
            add_covid_test(builder, rng.choice(msis_labs), taken, rng.random() < 0.25)
    if blood_group:
        group = ObservationValue(
            BLOOD_GROUP_LOINC, BLOOD_GROUP_DISPLAY, "valueString", rng.choice(BLOOD_GROUPS), None
        )
        taken = life.moment(rng, life.years_back(20))
        laboratory_report(
            builder,
            BLOOD_GROUP_LOINC,
            BLOOD_GROUP_DISPLAY,
            rng.choice(routine_labs),
            taken=taken,
            results=[group],
        )


def _shift(loinc: str, atcs: set[str]) -> float:
    """Results that the medicines explain: INR on warfarin sits in the therapeutic range."""
    if loinc == "6301-6" and "B01AA03" in atcs:
        return 1.5
    return 0.0
