"""Named patients with hand-shaped records for tests and demos, and the clinicians of the demo.

Every fixture number is a synthetic test number (month + 80) that ``mocks.identity_numbers``
reads and ``gateway.identity.parse`` accepts (``tests/mocks/test_identity_numbers.py``).
Fixtures live beside the generated population (they are not counted in its size) and look the
same whatever the population's seed is. Their records are built by ``mocks.fixture_records``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Fixture:
    """A named test patient: what makes them special is in ``tags`` and ``description``."""

    key: str
    nin: str
    name: str
    tags: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class Persona:
    """A demo health professional (for HelseID-like test tokens on the gateway side)."""

    key: str
    hpr_number: str
    given: str
    family: str
    authorization: str  # Volven 9060: LE doctor, SP nurse
    organisation: str
    org_number: str
    description: str


BLOCKED_HPR_NUMBER = "9144900"

PERSONAS = (
    Persona(
        "blocked-doctor",
        BLOCKED_HPR_NUMBER,
        "Stian",
        "Vold",
        "LE",
        "Sykehuset Østfold Kalnes",
        "946281948",
        "Emergency doctor blocked by the blocked-hpr patient; the block holds even in emergencies.",
    ),
    Persona(
        "emergency-doctor",
        "9144901",
        "Erik",
        "Moe",
        "LE",
        "Oslo universitetssykehus Ullevål",
        "954323196",
        "Emergency doctor with no relation to any fixture patient.",
    ),
    Persona(
        "home-care-nurse",
        "9144902",
        "Lene",
        "Bråten",
        "SP",
        "Lillehammer kommune, hjemmetjenesten",
        "944024263",
        "Home-care nurse looking after the home-care-elderly patient.",
    ),
    Persona(
        "home-care-gp",
        "1282389",
        "Ingrid",
        "Bakken",
        "LE",
        "Lillehammer legesenter",
        "990751161",
        "Regular GP (fastlege) of the home-care-elderly patient.",
    ),
    Persona(
        "nursing-home-doctor",
        "9144903",
        "Nora",
        "Lie",
        "LE",
        "Lillehammer kommune, Søre Ål sykehjem",
        "974627844",
        "Nursing-home doctor (sykehjemslege) seeing newly admitted residents.",
    ),
    Persona(
        "pharmacist",
        "9144904",
        "Petter",
        "Dahl",
        "FA1",
        "Apotek 1 Lillehammer",
        "984661185",
        "Pharmacist (provisorfarmasøyt): medications and critical information, with consent.",
    ),
)

FIXTURES = (
    Fixture(
        "home-care-elderly",
        "12834122055",
        "Astrid Marie Haugen",
        ("elderly", "home-care", "many-medications", "multi-page", "next-of-kin",
         "communication-need", "treatment-limit"),
        "85-year-old on home care: over 60 prescriptions and dispensings (several pages at "
        "_count=50, some withdrawn), GP, many visits, documents, labs, next of kin, hearing need.",
    ),
    Fixture(
        "no-gp",
        "29829645783",
        "Emil Strand",
        ("no-gp",),
        "Young adult with no regular GP (no GP relations at all); otherwise ordinary.",
    ),
    Fixture(
        "empty-lab-registry",
        "15828512339",
        "Thomas Berg",
        ("empty-lab-registry", "no-lab-results"),
        "The lab registry holds nothing for him (empty bundle); every other registry has data.",
    ),
    Fixture(
        "deceased",
        "04893622301",
        "Kjell Olsen",
        ("deceased",),
        "Died 2025-12-14 (Patient.deceasedDateTime); his records remain, GP relation ended.",
    ),
    Fixture(
        "d-number",
        "55827010056",
        "Agnieszka Kowalska",
        ("d-number", "interpreter", "language:pl"),
        "Polish seasonal worker identified by a D-number; needs a Polish interpreter.",
    ),
    Fixture(
        "critical-allergies",
        "20856222196",
        "Geir Andreassen",
        ("critical-allergies", "anaesthesia-complication", "implant", "pacemaker",
         "ongoing-treatment", "dialysis", "critical-condition"),
        "High-criticality confirmed drug allergies (penicillin anaphylaxis, ibuprofen), malignant "
        "hyperthermia flag, pacemaker, ongoing dialysis, end-stage kidney disease.",
    ),
    Fixture(
        "reserved",
        "30917822421",
        "Hilde Nygård",
        ("reserved", "reservation"),
        "Has opted out of the core record (Consent reservation): it holds no critical "
        "information or own registrations; other registries still have data.",
    ),
    Fixture(
        "restricted-sections",
        "01819042000",
        "Ida Lunde",
        ("restricted", "restricts:documents", "restricts:labResults"),
        "Has restricted the documents and labResults sections (Consent restriction); both "
        "registries hold data for her.",
    ),
    Fixture(
        "blocked-hpr",
        "08876922062",
        "Marianne Eide",
        ("blocked-hpr", f"blocks-hpr:{BLOCKED_HPR_NUMBER}"),
        f"Has blocked HPR {BLOCKED_HPR_NUMBER} (Stian Vold, persona blocked-doctor), who also "
        "prescribed for her and recorded one of her allergies.",
    ),
    Fixture(
        "covid-tested",
        "17845422192",
        "Arne Johansen",
        ("covid-tested", "covid-positive", "covid-negative"),
        "Three SARS-CoV-2 PCR tests (LOINC 94500-6) from MSIS labs: negative, positive, negative.",
    ),
    Fixture(
        "many-medicines",
        "14833840046",
        "Solveig Bakke",
        ("many-medicines", "medication-list", "home-care", "duplicate-substance",
         "expiring-prescription", "never-dispensed", "dispensed-without-valid-prescription",
         "dispensed-after-withdrawal", "withdrawn"),
        "88-year-old on home care whose medication list shows every flag: two active warfarin "
        "prescriptions, atorvastatin expiring in 15 days, zopiclone never dispensed, oxycodone "
        "dispensed on an expired prescription, ibuprofen dispensed after it was withdrawn; "
        "dates are relative to the day the mocks start.",
    ),
    Fixture(
        "minimal",
        "24881755544",
        "Oliver Hansen",
        ("minimal", "child"),
        "Nine-year-old with a GP and a Patient resource, and nothing else anywhere.",
    ),
)  # fmt: skip


def fixture(key: str) -> Fixture:
    """The fixture named ``key``; raises ``KeyError`` for unknown keys."""
    for candidate in FIXTURES:
        if candidate.key == key:
            return candidate
    raise KeyError(key)


def fixture_by_nin(nin: str) -> Fixture | None:
    """The fixture with identity number ``nin``, if any."""
    for candidate in FIXTURES:
        if candidate.nin == nin:
            return candidate
    return None


def persona(key: str) -> Persona:
    """The demo clinician named ``key``; raises ``KeyError`` for unknown keys."""
    for candidate in PERSONAS:
        if candidate.key == key:
            return candidate
    raise KeyError(key)
