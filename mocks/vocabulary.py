"""People, places and organisations the synthetic population is drawn from.

Place names, municipality numbers (2024 numbering), health trusts and hospitals are real;
organisation numbers and HPR numbers are synthetic (valid check digit, no real entity behind them),
and so is every person.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Municipality:
    """A municipality and the hospital its inhabitants normally go to."""

    number: str
    name: str
    postal_code: str
    city: str
    hospital: str


@dataclass(frozen=True, slots=True)
class Hospital:
    """A hospital, the health trust it belongs to, and the departments visits are registered in."""

    key: str
    name: str
    trust: str
    org_number: str
    departments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pharmacy:
    """A pharmacy that dispenses prescriptions, in the municipality numbered ``municipality``."""

    name: str
    org_number: str
    municipality: str


@dataclass(frozen=True, slots=True)
class Laboratory:
    """A medical laboratory; ``msis`` labs report Covid-19 tests to the MSIS lab database."""

    name: str
    org_number: str
    msis: bool


@dataclass(frozen=True, slots=True)
class Clinician:
    """A health professional with an HPR number."""

    hpr_number: str
    given: str
    family: str

    @property
    def display(self) -> str:
        """Full name, as shown next to the HPR number."""
        return f"{self.given} {self.family}"


@dataclass(frozen=True, slots=True)
class GpOffice:
    """A GP office (legekontor) and the GPs working there."""

    name: str
    org_number: str
    street: str
    postal_code: str
    city: str
    phone: str
    municipality: str
    doctors: tuple[Clinician, ...]


FEMALE_GIVEN_OLDER = (
    "Anne", "Inger", "Kari", "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid", "Bjørg",
    "Randi", "Solveig", "Ragnhild", "Gunn", "Torill", "Wenche", "Aud", "Elin", "Reidun", "Signe",
)  # fmt: skip
FEMALE_GIVEN_YOUNGER = (
    "Nora", "Emma", "Sofie", "Olivia", "Ella", "Sara", "Ingeborg", "Maja", "Leah", "Frida",
    "Ida", "Nina", "Maria", "Hilde", "Marianne", "Kristin", "Julie", "Thea", "Amalie", "Aisha",
)  # fmt: skip
MALE_GIVEN_OLDER = (
    "Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Hans",
    "Geir", "Tor", "Odd", "Terje", "Rolf", "Egil", "Leif", "Harald", "Olav", "Gunnar",
)  # fmt: skip
MALE_GIVEN_YOUNGER = (
    "Jakob", "Emil", "Noah", "Oliver", "Filip", "Lukas", "Henrik", "Magnus", "Aksel", "Sigurd",
    "Thomas", "Morten", "Martin", "Andreas", "Erik", "Jon", "Rune", "Trond", "Mohammed", "Isak",
)  # fmt: skip
FAMILY_NAMES = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
    "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen",
    "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen", "Henriksen",
    "Lund", "Sørensen", "Moen", "Gundersen", "Iversen", "Strand", "Solberg", "Svendsen", "Eide",
    "Knutsen", "Martinsen", "Bakken", "Kristoffersen", "Mathisen", "Lie", "Amundsen", "Nguyen",
    "Rasmussen", "Ali", "Lunde", "Solheim", "Berge", "Moe", "Nygård", "Bakke", "Fossum", "Aas",
)  # fmt: skip

_GENERAL_DEPARTMENTS = (
    "Akuttmottak", "Medisinsk avdeling", "Kirurgisk avdeling", "Ortopedisk avdeling",
    "Hjerteavdelingen", "Geriatrisk avdeling", "Lungeavdelingen", "Nevrologisk avdeling",
    "Øyeavdelingen", "Øre-nese-hals-avdelingen", "Kvinneklinikken", "Barne- og ungdomsklinikken",
    "Revmatologisk poliklinikk", "Nyremedisinsk avdeling", "Kreftavdelingen",
    "Radiologisk avdeling",
)  # fmt: skip

HOSPITALS: dict[str, Hospital] = {
    h.key: h
    for h in (
        Hospital("ssa", "Sørlandet sykehus Arendal", "Sørlandet sykehus HF", "952601814",
                 _GENERAL_DEPARTMENTS),
        Hospital("ssk", "Sørlandet sykehus Kristiansand", "Sørlandet sykehus HF", "959083010",
                 _GENERAL_DEPARTMENTS),
        Hospital("sil", "Sykehuset Innlandet Lillehammer", "Sykehuset Innlandet HF", "966131861",
                 _GENERAL_DEPARTMENTS),
        Hospital("sig", "Sykehuset Innlandet Gausdal", "Sykehuset Innlandet HF", "909139090",
                 ("Rehabiliteringsavdelingen", "Alderspsykiatrisk poliklinikk",
                  "Distriktspsykiatrisk senter")),
        Hospital("sih", "Sykehuset Innlandet Hamar", "Sykehuset Innlandet HF", "996030822",
                 _GENERAL_DEPARTMENTS),
        Hospital("sok", "Sykehuset Østfold Kalnes", "Sykehuset Østfold HF", "946281948",
                 _GENERAL_DEPARTMENTS),
        Hospital("soh", "Sykehuset Østfold Halden", "Sykehuset Østfold HF", "982199352",
                 ("Poliklinikk for dagkirurgi", "Distriktspsykiatrisk senter",
                  "Fysikalsk medisin og rehabilitering")),
        Hospital("nlsh", "Nordlandssykehuset Bodø", "Nordlandssykehuset HF", "918190937",
                 _GENERAL_DEPARTMENTS),
        Hospital("ous-rh", "Oslo universitetssykehus Rikshospitalet",
                 "Oslo universitetssykehus HF", "978657974", _GENERAL_DEPARTMENTS),
        Hospital("ous-ul", "Oslo universitetssykehus Ullevål", "Oslo universitetssykehus HF",
                 "954323196", _GENERAL_DEPARTMENTS),
        Hospital("hus", "Haukeland universitetssjukehus", "Helse Bergen HF", "948757494",
                 _GENERAL_DEPARTMENTS),
        Hospital("stolav", "St. Olavs hospital", "St. Olavs hospital HF", "911862522",
                 _GENERAL_DEPARTMENTS),
        Hospital("unn", "Universitetssykehuset Nord-Norge Tromsø",
                 "Universitetssykehuset Nord-Norge HF", "976018958", _GENERAL_DEPARTMENTS),
        Hospital("sus", "Stavanger universitetssjukehus", "Helse Stavanger HF", "955979710",
                 _GENERAL_DEPARTMENTS),
        Hospital("ahus", "Akershus universitetssykehus", "Akershus universitetssykehus HF",
                 "914710499", _GENERAL_DEPARTMENTS),
        Hospital("vv-dr", "Drammen sykehus", "Vestre Viken HF", "974650754",
                 _GENERAL_DEPARTMENTS),
    )
}  # fmt: skip

UNIVERSITY_HOSPITALS = ("ous-rh", "ous-ul", "hus", "stolav", "unn")

MUNICIPALITIES = (
    Municipality("0301", "Oslo", "0187", "Oslo", "ous-ul"),
    Municipality("3101", "Halden", "1771", "Halden", "sok"),
    Municipality("3105", "Sarpsborg", "1706", "Sarpsborg", "sok"),
    Municipality("3107", "Fredrikstad", "1606", "Fredrikstad", "sok"),
    Municipality("3201", "Bærum", "1337", "Sandvika", "vv-dr"),
    Municipality("3205", "Lillestrøm", "2000", "Lillestrøm", "ahus"),
    Municipality("3301", "Drammen", "3015", "Drammen", "vv-dr"),
    Municipality("3403", "Hamar", "2317", "Hamar", "sih"),
    Municipality("3405", "Lillehammer", "2615", "Lillehammer", "sil"),
    Municipality("3407", "Gjøvik", "2815", "Gjøvik", "sil"),
    Municipality("3439", "Ringebu", "2630", "Ringebu", "sil"),
    Municipality("3440", "Øyer", "2636", "Øyer", "sil"),
    Municipality("3441", "Gausdal", "2651", "Østre Gausdal", "sil"),
    Municipality("4203", "Arendal", "4836", "Arendal", "ssa"),
    Municipality("4202", "Grimstad", "4876", "Grimstad", "ssa"),
    Municipality("4204", "Kristiansand", "4610", "Kristiansand S", "ssk"),
    Municipality("1103", "Stavanger", "4005", "Stavanger", "sus"),
    Municipality("1108", "Sandnes", "4306", "Sandnes", "sus"),
    Municipality("4601", "Bergen", "5003", "Bergen", "hus"),
    Municipality("5001", "Trondheim", "7010", "Trondheim", "stolav"),
    Municipality("1804", "Bodø", "8006", "Bodø", "nlsh"),
    Municipality("5501", "Tromsø", "9008", "Tromsø", "unn"),
)

PHARMACIES = (
    Pharmacy("Apotek 1 Arendal", "929170342", "4203"),
    Pharmacy("Vitusapotek Jernbanetorget", "923667121", "0301"),
    Pharmacy("Boots apotek Lillehammer", "976842685", "3405"),
    Pharmacy("Apotek 1 Gausdal", "946563218", "3441"),
    Pharmacy("Vitusapotek Kalnes", "922330794", "3105"),
    Pharmacy("Apotek 1 Bodø", "924402687", "1804"),
    Pharmacy("Boots apotek Bergen Storsenter", "959952892", "4601"),
    Pharmacy("Apotek 1 Solsiden", "907866661", "5001"),
    Pharmacy("Vitusapotek Kristiansand", "917603138", "4204"),
    Pharmacy("Ditt Apotek Hamar", "972159018", "3403"),
    Pharmacy("Apotek 1 Tromsø", "909281598", "5501"),
    Pharmacy("Boots apotek Stavanger", "901396248", "1103"),
)

LABORATORIES = (
    Laboratory("Fürst Medisinsk Laboratorium", "959571171", msis=False),
    Laboratory("Unilabs Laboratoriemedisin", "977741211", msis=False),
    Laboratory("Sørlandet sykehus, Avdeling for medisinsk biokjemi", "985280843", msis=False),
    Laboratory("Sykehuset Innlandet, Medisinsk biokjemi Lillehammer", "914852536", msis=False),
    Laboratory("Oslo universitetssykehus, Avdeling for mikrobiologi", "988853933", msis=True),
    Laboratory("Haukeland universitetssjukehus, Mikrobiologisk avdeling", "936338755", msis=True),
    Laboratory("St. Olavs hospital, Avdeling for medisinsk mikrobiologi", "900474393", msis=True),
    Laboratory("Sørlandet sykehus, Avdeling for medisinsk mikrobiologi", "957551319", msis=True),
)


def _gp(hpr: int, given: str, family: str) -> Clinician:
    return Clinician(str(hpr), given, family)


GP_OFFICES = (
    GpOffice("Arendal legesenter", "937353790", "Langbryggen 5", "4836", "Arendal", "+4737001000",
             "4203", (_gp(1193715, "Kari", "Tveit"), _gp(1257465, "Jon", "Aasland"))),
    GpOffice("Lillehammer legesenter", "990751161", "Storgata 60", "2615", "Lillehammer",
             "+4761002000", "3405",
             (_gp(1282389, "Ingrid", "Bakken"), _gp(1304726, "Ola", "Nordli"),
              _gp(1309269, "Fatima", "Rahimi"))),
    GpOffice("Gausdal legekontor", "937265166", "Follebuvegen 2", "2656", "Follebu",
             "+4761003000", "3441", (_gp(1619907, "Eirik", "Gausdal"),)),
    GpOffice("Kalnes legesenter", "976122208", "Kalnesveien 300", "1714", "Grålum",
             "+4769004000", "3105", (_gp(1724871, "Silje", "Mørk"), _gp(1845231, "Per", "Holm"))),
    GpOffice("Sentrum legesenter Bodø", "929729978", "Sjøgata 21", "8006", "Bodø", "+4775005000",
             "1804", (_gp(1965134, "Anne", "Strand"), _gp(2117740, "Tor", "Hansen"))),
    GpOffice("Majorstuen legesenter", "952882007", "Bogstadveien 50", "0366", "Oslo",
             "+4722006000", "0301",
             (_gp(2214906, "Marte", "Lien"), _gp(2404966, "Ahmed", "Khan"),
              _gp(2485889, "Lars", "Wiik"))),
    GpOffice("Grünerløkka legesenter", "918263306", "Thorvald Meyers gate 40", "0555", "Oslo",
             "+4722007000", "0301", (_gp(2500926, "Hanne", "Sæther"),)),
    GpOffice("Sandviken legekontor", "943483957", "Sandviksveien 10", "5035", "Bergen",
             "+4755008000", "4601", (_gp(2783105, "Kjersti", "Vik"), _gp(2836290, "Olav", "Rød"))),
    GpOffice("Bakklandet legesenter", "998682827", "Øvre Bakklandet 12", "7013", "Trondheim",
             "+4773009000", "5001", (_gp(3041410, "Siri", "Aune"), _gp(3168032, "Even", "Lysø"))),
    GpOffice("Hamar legesenter", "988072907", "Torggata 30", "2317", "Hamar", "+4762010000",
             "3403", (_gp(3505978, "Guro", "Bjerke"),)),
    GpOffice("Kristiansand sentrum legekontor", "922279187", "Markens gate 12", "4611",
             "Kristiansand S", "+4738011000", "4204", (_gp(3708666, "Ivar", "Tønnessen"),)),
    GpOffice("Stavanger legesenter", "905888714", "Klubbgata 5", "4013", "Stavanger",
             "+4751012000", "1103", (_gp(3984664, "Maren", "Skadberg"),)),
    GpOffice("Tromsø legesenter", "980334015", "Storgata 90", "9008", "Tromsø", "+4777013000",
             "5501", (_gp(4039125, "Nils", "Eira"), _gp(4076002, "Ane", "Johansen"))),
    GpOffice("Fredrikstad legesenter", "987801751", "Nygaardsgata 18", "1607", "Fredrikstad",
             "+4769014000", "3107", (_gp(4178552, "Stine", "Dahl"),)),
)  # fmt: skip

HOSPITAL_DOCTOR_COUNT = 400
_HOSPITAL_DOCTOR_HPR_BASE = 5_000_000


def hospital_doctor(k: int) -> Clinician:
    """The ``k``-th hospital doctor (``k`` taken modulo ``HOSPITAL_DOCTOR_COUNT``).

    Doctors are a pure function of ``k``, so one HPR number always carries the same name.
    """
    k %= HOSPITAL_DOCTOR_COUNT
    given = (FEMALE_GIVEN_YOUNGER + MALE_GIVEN_YOUNGER)[(k * 7) % 40]
    family = FAMILY_NAMES[(k * 13 + k // 40) % len(FAMILY_NAMES)]
    return Clinician(str(_HOSPITAL_DOCTOR_HPR_BASE + k * 1093), given, family)
