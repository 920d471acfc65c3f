"""Who the benchmark asks about: generated patients whose summary is about 14 KB.

The first is *the* benchmark patient: ``02859018982``, generated patient 182 of the default
population (seed 2026): about 60 list items (4 prescriptions, 16 dispensings, 5 lab reports with
their results, a GP, a document, next of kin), 627 resolved fields, 14.0 KB of summary JSON.
The others are of the same size (13-15 KB, 560-720 fields) and take turns with it in every load
run: the gateway joins concurrent reads of the same search into one upstream call, so with one
patient and 32 connections a "cold" run would mostly measure that join, not the work the
summary costs when every call is made. With 52 patients and round-robin order, requests in
flight at once are for different patients.
"""

from __future__ import annotations

BENCH_PATIENT = "02859018982"

PANEL: tuple[str, ...] = (
    BENCH_PATIENT,
    "14848505979",
    "14837238448",
    "06927903030",
    "24817332508",
    "01838434165",
    "15908732798",
    "01868516999",
    "06919521552",
    "06817823511",
    "25818406781",
    "24879635876",
    "46907001822",
    "05819506274",
    "03908930184",
    "08908802919",
    "60829245690",
    "12836841512",
    "26898021806",
    "27860691219",
    "28909912549",
    "09879106378",
    "12868748859",
    "08900262702",
    "12896806317",
    "52907525465",
    "08889245345",
    "07820184801",
    "29897614209",
    "13827730127",
    "24856803844",
    "22871767983",
    "22929449758",
    "14838924922",
    "06927440030",
    "03847918186",
    "05821077259",
    "24918803889",
    "08926749294",
    "20826449080",
    "15857247717",
    "22928921321",
    "23846808035",
    "06848516218",
    "23825115188",
    "26917928176",
    "17827624454",
    "23859636721",
    "24909644115",
    "11900287994",
    "19817921429",
    "05868730465",
)
"""Population(seed=2026, size=1000) patients with a 13-15 KB summary, the benchmark's first."""

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"


def fhir_token(nin: str) -> str:
    """The FHIR search token of a fødselsnummer (every panel patient has one)."""
    return f"{FNR_SYSTEM}|{nin}"
