"""Clinical vocabularies: ICD-10 conditions, LOINC lab tests, allergens, critical information.

Codes are real (ICD-10, LOINC, ATC, SNOMED CT, HL7 v3); reference ranges are typical Norwegian
adult ranges, close enough for a demo and not clinical advice.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """An ICD-10 diagnosis that is critical information in an emergency."""

    icd10: str
    display: str
    note: str


@dataclass(frozen=True, slots=True)
class LabTest:
    """A quantitative lab test and its reference range (``None`` means unbounded on that side)."""

    loinc: str
    display: str
    unit: str
    low: float | None
    high: float | None
    typical: float
    spread: float
    decimals: int = 1


@dataclass(frozen=True, slots=True)
class LabPanel:
    """What a lab report is ordered as: a panel (several tests) or a single test."""

    loinc: str
    display: str
    tests: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AllergyAgent:
    """A substance patients react to; drugs carry their ATC code, the rest are text only."""

    text: str
    category: str
    atc: str | None = None


@dataclass(frozen=True, slots=True)
class Relation:
    """An HL7 v3 RoleCode for next of kin."""

    code: str
    display: str


@dataclass(frozen=True, slots=True)
class Language:
    """A BCP-47 language with its Norwegian name."""

    code: str
    display: str


CRITICAL_DIAGNOSES = (
    Diagnosis("D68.0", "Von Willebrands sykdom", "Blødningsfare. Kontakt hematolog før inngrep."),
    Diagnosis("D66", "Hereditær faktor VIII-mangel", "Hemofili A. Faktorkonsentrat ved blødning."),
    Diagnosis("E27.1", "Primær binyrebarksvikt", "Addisons sykdom. Stressdose hydrokortison."),
    Diagnosis("G70.0", "Myasthenia gravis", "Unngå muskelrelaksantia og aminoglykosider."),
    Diagnosis("D84.1", "Defekter i komplementsystemet", "Hereditært angioødem (C1-INH-mangel)."),
    Diagnosis("I42.1", "Obstruktiv hypertrofisk kardiomyopati", "Unngå nitrater og dehydrering."),
    Diagnosis("I45.8", "Andre spesifiserte ledningsforstyrrelser", "Langt QT-syndrom."),
    Diagnosis("D57.1", "Sigdcellesykdom uten krise", "Smertekriser; god hydrering og oksygen."),
    Diagnosis("Q87.4", "Marfans syndrom", "Risiko for aortadisseksjon."),
    Diagnosis("E10.9", "Diabetes mellitus type 1 uten komplikasjoner", "Insulinpumpe."),
    Diagnosis("G40.9", "Epilepsi, uspesifisert", "Anfall behandles med midazolam."),
    Diagnosis("N18.5", "Kronisk nyresykdom, stadium 5", "Dialysepasient. Dosejuster legemidler."),
)

SELF_REPORTED_CATEGORIES = (
    "Hjerte- og karsykdom",
    "Diabetes",
    "Astma eller KOLS",
    "Epilepsi",
    "Kreftsykdom",
    "Psykisk lidelse",
    "Revmatisk sykdom",
    "Nyresykdom",
    "Stoffskiftesykdom",
    "Annen sykdom",
)

LAB_TESTS: dict[str, LabTest] = {
    t.loinc: t
    for t in (
        LabTest("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 11.7, 17.0, 13.8, 1.4),
        LabTest("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*9/L", 3.5,
                10.0, 6.5, 2.0),
        LabTest("777-3", "Platelets [#/volume] in Blood by Automated count", "10*9/L", 145,
                390, 250, 60, 0),
        LabTest("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "mg/L", None,
                5, 4, 12, 0),
        LabTest("14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "umol/L", 45, 105, 80,
                20, 0),
        LabTest("62238-1", "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] "
                "in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)",
                "mL/min/{1.73_m2}", 60, None, 78, 18, 0),
        LabTest("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 137, 145, 140, 3,
                0),
        LabTest("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.5, 4.4, 4.0,
                0.4),
        LabTest("59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol",
                "mmol/mol", 20, 42, 40, 10, 0),
        LabTest("6301-6", "INR in Platelet poor plasma by Coagulation assay", "{INR}", 0.8, 1.2,
                1.0, 0.1),
        LabTest("3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "mIU/L", 0.27, 4.2,
                1.9, 1.0, 2),
        LabTest("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ug/L", 15, 200, 90, 60,
                0),
        LabTest("14647-2", "Cholesterol [Moles/volume] in Serum or Plasma", "mmol/L", None, 5.0,
                5.1, 1.0),
        LabTest("22748-8", "Cholesterol in LDL [Moles/volume] in Serum or Plasma", "mmol/L", None,
                3.0, 3.0, 0.9),
        LabTest("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or "
                "Plasma", "U/L", 10, 45, 28, 12, 0),
    )
}  # fmt: skip

LAB_PANELS = (
    LabPanel("58410-2", "CBC panel - Blood by Automated count", ("718-7", "6690-2", "777-3")),
    LabPanel("24362-6", "Renal function 2000 panel - Serum or Plasma",
             ("14682-9", "62238-1", "2951-2", "2823-3")),
    LabPanel("57698-3", "Lipid panel with direct LDL - Serum or Plasma", ("14647-2", "22748-8")),
    LabPanel("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", ("1988-5",)),
    LabPanel("59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol",
             ("59261-8",)),
    LabPanel("6301-6", "INR in Platelet poor plasma by Coagulation assay", ("6301-6",)),
    LabPanel("3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", ("3016-3",)),
    LabPanel("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", ("2276-4",)),
    LabPanel("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
             ("1742-6",)),
)  # fmt: skip

COVID_TEST_LOINC = "94500-6"
COVID_TEST_DISPLAY = (
    "SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory system specimen by NAA with probe "
    "detection"
)
SNOMED_DETECTED = ("260373001", "Detected", "Påvist")
SNOMED_NOT_DETECTED = ("260415000", "Not detected", "Ikke påvist")
BLOOD_GROUP_LOINC = "882-1"
BLOOD_GROUP_DISPLAY = "ABO and Rh group [Type] in Blood"
BLOOD_GROUPS = (
    "A RhD positiv",
    "O RhD positiv",
    "B RhD positiv",
    "A RhD negativ",
    "AB RhD positiv",
)

DRUG_ALLERGENS = (
    AllergyAgent("Penicilliner", "medication", "J01CE02"),
    AllergyAgent("Ibuprofen", "medication", "M01AE01"),
    AllergyAgent("Sulfametoksazol og trimetoprim", "medication", "J01EE01"),
    AllergyAgent("Morfin", "medication", "N02AA01"),
    AllergyAgent("Jodholdige røntgenkontrastmidler", "medication", "V08AB"),
    AllergyAgent("Kodein", "medication", "R05DA04"),
)
OTHER_ALLERGENS = (
    AllergyAgent("Peanøtter", "food"),
    AllergyAgent("Skalldyr", "food"),
    AllergyAgent("Bivenom", "environment"),
    AllergyAgent("Vepsestikk", "environment"),
    AllergyAgent("Lateks", "environment"),
)
REACTIONS = (
    ("Anafylaksi", "severe"),
    ("Angioødem", "severe"),
    ("Urtikaria", "moderate"),
    ("Bronkospasme", "moderate"),
    ("Utslett", "mild"),
    ("Kvalme og oppkast", "mild"),
)

IMPLANTS = (
    ("Pacemaker", "Ikke MR uten avklaring med kardiolog."),
    ("Implanterbar hjertestarter (ICD)", "Deaktiveres ved kirurgi med diatermi."),
    ("Mekanisk hjerteklaff", "Livslang antikoagulasjon."),
    ("Cochleaimplantat", "MR kontraindisert uten avklaring."),
    ("Dyp hjernestimulator", "Ikke diatermi. Ikke MR uten avklaring."),
    ("Insulinpumpe", "Fjernes før røntgen og MR."),
)
ONGOING_TREATMENTS = (
    ("Dialyse", "Hemodialyse tre ganger i uken. AV-fistel venstre arm: ikke blodtrykk der."),
    ("Cytostatikabehandling", "Risiko for nøytropen feber. Kontakt kreftavdelingen."),
    ("Står på transplantasjonsliste", "Venter på nyre. Kontakt transplantasjonskoordinator."),
    ("Strålebehandling", "Pågående kur mot prostata."),
)
PROCEDURE_CHANGES = (
    ("Splenektomert", "Økt risiko for alvorlige infeksjoner; lav terskel for antibiotika."),
    ("Gastric bypass-operert", "Endret opptak av legemidler. Ikke NSAIDs."),
    ("Laryngektomert (halsånder)", "Pustes og ventileres via trakeostoma."),
)
CRITICAL_FLAGS: dict[str, tuple[str, ...]] = {
    "infection": ("MRSA-bærer", "ESBL-bærer", "Hepatitt C"),
    "anaesthesia-complication": (
        "Malign hypertermi (familiær disposisjon)",
        "Vanskelig luftvei - intubasjonsproblemer",
        "Forlenget virkning av suksametonium",
    ),
    "treatment-limit": (
        "Ikke aktuelt med hjerte-lunge-redning",
        "Ikke respiratorbehandling",
    ),
    "other-critical": ("Ønsker ikke blodoverføring",),
}
COMMUNICATION_NEEDS = (
    "Hørselshemmet - bruker høreapparat",
    "Synshemmet - trenger skriftlig informasjon i stor skrift",
    "Afasi etter hjerneslag - trenger god tid",
    "Trenger tolk",
)

RELATIONS = {
    "SPS": Relation("SPS", "spouse"),
    "DAU": Relation("DAU", "daughter"),
    "SON": Relation("SON", "son"),
    "SIB": Relation("SIB", "sibling"),
    "FRND": Relation("FRND", "unrelated friend"),
    "PRN": Relation("PRN", "parent"),
    "NBOR": Relation("NBOR", "neighbor"),
}

INTERPRETER_LANGUAGES = (
    Language("ar", "Arabisk"),
    Language("so", "Somali"),
    Language("pl", "Polsk"),
    Language("uk", "Ukrainsk"),
    Language("ti", "Tigrinja"),
    Language("fa", "Persisk"),
    Language("se", "Nordsamisk"),
)
