"""Medicines: real ATC codes with the substance, a Norwegian product and a typical dosage.

``weight`` says how commonly the drug is used long-term by the age group ``min_age`` and up; it
makes an 85-year-old on home care look like one (anticoagulant, beta blocker, diuretic, statin,
laxative, paracetamol) and a 30-year-old look like one (nothing, or an inhaler).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Drug:
    """A medicine as Reseptformidleren would list it."""

    atc: str
    substance: str
    product: str
    dosage: str
    pack_size: int
    unit: str
    min_age: int
    weight: int


def _drug(
    atc: str,
    substance: str,
    product: str,
    dosage: str,
    *,
    pack: int = 100,
    unit: str = "tablett",
    min_age: int = 40,
    weight: int = 3,
) -> Drug:
    return Drug(atc, substance, product, dosage, pack, unit, min_age, weight)


LONG_TERM_DRUGS = (
    _drug("B01AC06", "acetylsalisylsyre", "Albyl-E 75 mg enterotablett", "1 tablett morgen",
          min_age=50, weight=8),
    _drug("C07AB02", "metoprolol", "Metoprolol Sandoz 50 mg depottablett", "1 tablett morgen",
          min_age=45, weight=7),
    _drug("C10AA01", "simvastatin", "Simvastatin Krka 20 mg tablett", "1 tablett kveld",
          min_age=45, weight=7),
    _drug("C10AA05", "atorvastatin", "Lipitor 20 mg tablett", "1 tablett kveld", weight=5),
    _drug("A02BC01", "omeprazol", "Omeprazol Actavis 20 mg enterokapsel", "1 kapsel morgen",
          unit="kapsel", min_age=30, weight=6),
    _drug("N02BE01", "paracetamol", "Paracet 500 mg tablett",
          "2 tabletter inntil 4 ganger daglig ved behov", min_age=18, weight=6),
    _drug("C03CA01", "furosemid", "Furix 40 mg tablett", "1 tablett morgen", min_age=60,
          weight=6),
    _drug("A10BA02", "metformin", "Metformin Mylan 500 mg tablett", "1 tablett 2 ganger daglig",
          weight=5),
    _drug("N05CF01", "zopiklon", "Imovane 5 mg tablett", "1 tablett ved sengetid ved behov",
          pack=30, min_age=30, weight=4),
    _drug("C09AA05", "ramipril", "Triatec 5 mg tablett", "1 tablett daglig", weight=4),
    _drug("C08CA01", "amlodipin", "Norvasc 5 mg tablett", "1 tablett daglig", weight=5),
    _drug("C09CA01", "losartan", "Cozaar 50 mg tablett", "1 tablett daglig", weight=5),
    _drug("B01AF01", "rivaroksaban", "Xarelto 20 mg tablett", "1 tablett daglig til kveldsmat",
          pack=98, min_age=60, weight=4),
    _drug("B01AF02", "apiksaban", "Eliquis 5 mg tablett", "1 tablett 2 ganger daglig", pack=168,
          min_age=60, weight=5),
    _drug("B01AA03", "warfarin", "Marevan 2,5 mg tablett", "Etter INR-skjema", min_age=60,
          weight=2),
    _drug("C01AA05", "digoksin", "Digoxin DAK 62,5 mikrog tablett", "1 tablett daglig",
          min_age=70, weight=1),
    _drug("H03AA01", "levotyroksin", "Levaxin 50 mikrog tablett", "1 tablett morgen fastende",
          min_age=25, weight=4),
    _drug("N06AB04", "citalopram", "Citalopram Bluefish 20 mg tablett", "1 tablett daglig",
          min_age=25, weight=2),
    _drug("N06AB10", "escitalopram", "Cipralex 10 mg tablett", "1 tablett daglig", pack=98,
          min_age=18, weight=3),
    _drug("N06AX11", "mirtazapin", "Remeron 15 mg tablett", "1 tablett kveld", pack=30,
          min_age=60, weight=3),
    _drug("N05BA04", "oksazepam", "Sobril 10 mg tablett",
          "1 tablett ved behov, maks 3 tabletter daglig", pack=30, min_age=60, weight=2),
    _drug("N02AA05", "oksykodon", "OxyNorm 5 mg kapsel",
          "1 kapsel inntil 4 ganger daglig ved behov", pack=28, unit="kapsel", min_age=60,
          weight=2),
    _drug("N02AJ06", "kodein og paracetamol", "Paralgin forte 400 mg/30 mg tablett",
          "1-2 tabletter inntil 3 ganger daglig ved behov", pack=20, min_age=30, weight=2),
    _drug("A06AD65", "makrogol, kombinasjoner", "Movicol pulver til mikstur, dosepose",
          "1 dosepose daglig", pack=100, unit="dosepose", min_age=65, weight=5),
    _drug("A06AB08", "natriumpikosulfat", "Laxoberal 7,5 mg/ml dråper", "10 dråper kveld ved behov",
          pack=30, unit="ml", min_age=65, weight=2),
    _drug("A12AX", "kalsium, kombinasjoner med vitamin D",
          "Calcigran Forte 1000 mg/800 IE tyggetablett", "1 tablett daglig", pack=100,
          min_age=65, weight=4),
    _drug("A11CC05", "kolekalsiferol", "Divisun 800 IE tablett", "1 tablett daglig", min_age=60,
          weight=3),
    _drug("M05BA04", "alendronsyre", "Alendronat Mylan 70 mg tablett",
          "1 tablett en gang i uken, fastende med et stort glass vann", pack=12, min_age=65,
          weight=3),
    _drug("R03AK06", "salmeterol og flutikason",
          "Seretide Diskus 50/500 mikrog/dose inhalasjonspulver",
          "1 inhalasjon morgen og kveld", pack=60, unit="dose", min_age=12, weight=3),
    _drug("R03AC02", "salbutamol", "Ventoline 0,1 mg/dose inhalasjonsaerosol",
          "1-2 doser ved behov", pack=200, unit="dose", min_age=5, weight=4),
    _drug("R03BB04", "tiotropium", "Spiriva 18 mikrog inhalasjonspulver, kapsel",
          "1 kapsel inhaleres daglig", pack=30, unit="kapsel", min_age=55, weight=2),
    _drug("G04CA02", "tamsulosin", "Omnic 0,4 mg depotkapsel", "1 kapsel daglig", pack=100,
          unit="kapsel", min_age=55, weight=3),
    _drug("G04BD07", "tolterodin", "Detrusitol SR 4 mg depotkapsel", "1 kapsel daglig", pack=98,
          unit="kapsel", min_age=60, weight=1),
    _drug("N06DA02", "donepezil", "Aricept 5 mg tablett", "1 tablett kveld", pack=98, min_age=70,
          weight=2),
    _drug("N04BA02", "levodopa og dekarboksylasehemmer", "Sinemet 100 mg/25 mg tablett",
          "1 tablett 3 ganger daglig", min_age=60, weight=1),
    _drug("C03DA01", "spironolakton", "Spirix 25 mg tablett", "1 tablett daglig", min_age=60,
          weight=2),
    _drug("C03AA03", "hydroklortiazid", "Esidrex 25 mg tablett", "1 tablett morgen", weight=2),
    _drug("A10AE04", "insulin glargin", "Lantus 100 E/ml injeksjonsvæske, penn",
          "20 enheter subkutant kveld", pack=5, unit="penn", min_age=10, weight=2),
    _drug("A10BK01", "dapagliflozin", "Forxiga 10 mg tablett", "1 tablett daglig", pack=98,
          weight=2),
    _drug("C01DA02", "glyseroltrinitrat", "Nitroglycerin Recip 0,5 mg resoriblett",
          "1 tablett under tungen ved brystsmerter", pack=100, min_age=55, weight=2),
    _drug("H02AB06", "prednisolon", "Prednisolon Actavis 5 mg tablett", "2 tabletter morgen",
          weight=2),
    _drug("N03AX16", "pregabalin", "Lyrica 75 mg kapsel", "1 kapsel 2 ganger daglig", pack=56,
          unit="kapsel", min_age=30, weight=2),
    _drug("N03AX12", "gabapentin", "Neurontin 300 mg kapsel", "1 kapsel 3 ganger daglig",
          unit="kapsel", min_age=30, weight=1),
    _drug("B03BA01", "cyanokobalamin", "Behepan 1 mg tablett", "1 tablett daglig", min_age=60,
          weight=3),
    _drug("B03AA07", "jern(II)sulfat", "Duroferon 100 mg Fe2+ depottablett", "1 tablett daglig",
          min_age=18, weight=2),
    _drug("S01EE01", "latanoprost", "Xalatan 50 mikrog/ml øyedråper",
          "1 dråpe i hvert øye kveld", pack=3, unit="flaske", min_age=55, weight=2),
    _drug("D07AC01", "betametason", "Betnovat 1 mg/g krem", "Påsmøres tynt 1-2 ganger daglig",
          pack=1, unit="tube", min_age=5, weight=2),
    _drug("N05AH04", "kvetiapin", "Seroquel 25 mg tablett", "1 tablett kveld", min_age=70,
          weight=1),
    _drug("L04AX03", "metotreksat", "Metotreksat Orion 2,5 mg tablett",
          "4 tabletter en gang i uken (onsdag)", pack=24, min_age=30, weight=1),
    _drug("N06BA04", "metylfenidat", "Concerta 36 mg depottablett", "1 tablett morgen",
          pack=30, min_age=6, weight=1),
)  # fmt: skip

SHORT_COURSE_DRUGS = (
    _drug("J01CE02", "fenoksymetylpenicillin", "Apocillin 660 mg tablett",
          "1 tablett 4 ganger daglig i 7 dager", pack=28, min_age=0),
    _drug("J01CA08", "pivmecillinam", "Selexid 200 mg tablett",
          "1 tablett 3 ganger daglig i 3 dager",
          pack=9, min_age=12),
    _drug("J01XE01", "nitrofurantoin", "Furadantin 50 mg tablett",
          "1 tablett 3 ganger daglig i 5 dager", pack=15, min_age=12),
    _drug("J01AA02", "doksysyklin", "Doxylin 100 mg tablett",
          "2 tabletter første dag, deretter 1 tablett daglig i 9 dager", pack=11, min_age=12),
    _drug("M01AE01", "ibuprofen", "Ibux 400 mg tablett",
          "1 tablett inntil 3 ganger daglig ved behov", pack=30, min_age=12),
    _drug("J01CA04", "amoksicillin", "Amoxicillin Actavis 500 mg kapsel",
          "1 kapsel 3 ganger daglig i 7 dager", pack=21, unit="kapsel", min_age=0),
)  # fmt: skip

WITHDRAWAL_REASONS = (
    "Seponert på grunn av bivirkninger",
    "Byttet til annet preparat",
    "Feil dosering, erstattet av ny resept",
    "Ikke lenger indisert",
    "Interaksjon med annen legemiddelbehandling",
)


def drug(atc: str) -> Drug:
    """The drug with ATC code ``atc``; raises ``KeyError`` for codes the mocks do not know."""
    for candidate in LONG_TERM_DRUGS + SHORT_COURSE_DRUGS:
        if candidate.atc == atc:
            return candidate
    raise KeyError(atc)
