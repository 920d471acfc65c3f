"""The demo's token personas: HelseID-shaped claims for ``summary-gateway token``.

Each carries a default purpose of use and access basis that suits its work, so a pasted token
works alone; request headers can state another (docs/access-control.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mocks.fixtures import PERSONAS, Persona, fixture

# Claim names as HelseID issues them (gateway/access/tokens.py reads the same names).
HPR_NUMBER = "helseid://claims/hpr/hpr_number"
HPR_DETAILS = "helseid://claims/hpr/hpr_details"
PID = "helseid://claims/identity/pid"
ORG_PARENT = "helseid://claims/client/claims/orgnr_parent"
ORG_CHILD = "helseid://claims/client/claims/orgnr_child"

PATIENT_FIXTURE = "home-care-elderly"
PRIVACY_OFFICER_PID = "15887540095"  # synthetic (Tenor-style) number

# Each clinician's usual purpose and basis.
_DEFAULT_ACCESS = {
    "home-care-nurse": ("TREAT", "CONSENT"),
    "home-care-gp": ("TREAT", "EXCEPTION"),
    "nursing-home-doctor": ("TREAT", "EXCEPTION"),
    "emergency-doctor": ("ETREAT", "EMERGENCY"),
    "blocked-doctor": ("ETREAT", "EMERGENCY"),
    "pharmacist": ("TREAT", "CONSENT"),
}


@dataclass(frozen=True, slots=True)
class TokenPersona:
    """Someone the development issuer can sign a token for."""

    key: str
    description: str
    claims: dict[str, Any]


def _clinician(persona: Persona) -> TokenPersona:
    purpose, basis = _DEFAULT_ACCESS.get(persona.key, ("TREAT", "CONSENT"))
    return TokenPersona(
        persona.key,
        f"{persona.given} {persona.family} ({persona.authorization}, HPR {persona.hpr_number}), "
        f"{persona.organisation}: {purpose}/{basis} by default. {persona.description}",
        {
            "sub": f"dev-{persona.key}",
            HPR_NUMBER: persona.hpr_number,
            HPR_DETAILS: {
                "hpr_number": persona.hpr_number,
                "approvals": [{"profession": persona.authorization}],
            },
            "given_name": persona.given,
            "family_name": persona.family,
            ORG_PARENT: persona.org_number,
            ORG_CHILD: persona.org_number,
            "organisation_name": persona.organisation,
            "client_name": "Demo EPJ",
            "scope": "openid profile helseid://scopes/hpr/hpr_number",
            "purpose_of_use": purpose,
            "access_basis": basis,
        },
    )


def _patient() -> TokenPersona:
    patient = fixture(PATIENT_FIXTURE)
    *given, family = patient.name.split()
    return TokenPersona(
        "patient",
        f"{patient.name}, the {PATIENT_FIXTURE} fixture patient ({patient.nin}), reading her own "
        "summary and access log as on helsenorge.no.",
        {
            "sub": f"dev-patient-{patient.key}",
            PID: patient.nin,
            "given_name": " ".join(given),
            "family_name": family,
            "client_name": "helsenorge (demo)",
            "scope": "openid profile helseid://scopes/identity/pid",
        },
    )


def _privacy_officer() -> TokenPersona:
    return TokenPersona(
        "privacy-officer",
        "Siri Holm, privacy officer (personvernombud): reads any patient's access log and the "
        "emergency alerts; never a summary.",
        {
            "sub": "dev-privacy-officer",
            PID: PRIVACY_OFFICER_PID,
            "given_name": "Siri",
            "family_name": "Holm",
            ORG_PARENT: "983544622",
            "organisation_name": "Norsk helsenett SF",
            "client_name": "Access-log console (demo)",
            "scope": "openid profile summary-gateway/access-log",
        },
    )


TOKEN_PERSONAS: tuple[TokenPersona, ...] = (
    *(_clinician(p) for p in PERSONAS),
    _patient(),
    _privacy_officer(),
)


def token_persona(key: str) -> TokenPersona:
    """The persona named ``key``; raises ``KeyError`` for unknown keys."""
    for candidate in TOKEN_PERSONAS:
        if candidate.key == key:
            return candidate
    raise KeyError(key)
