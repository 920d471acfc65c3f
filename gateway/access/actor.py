"""Who is calling, and why: the authenticated actor and the purpose and basis they state.

An ``Actor`` comes only from a validated token (``gateway/access/tokens.py``). The purpose of use
and the access basis are the caller's own statement, as in the national trust framework: they are
recorded with every access and checked by the policy (``gateway/access/policy.py``), not trusted
blindly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ActorKind(Enum):
    """The three kinds of caller the gateway serves."""

    HEALTH_PERSONNEL = "HEALTH_PERSONNEL"
    PATIENT = "PATIENT"
    PRIVACY_OFFICER = "PRIVACY_OFFICER"


class PurposeOfUse(Enum):
    """HL7 v3 PurposeOfUse codes, as the trust framework uses them."""

    TREAT = "TREAT"
    ETREAT = "ETREAT"
    COC = "COC"
    BTG = "BTG"


class AccessBasis(Enum):
    """The legal basis of an access (Kjernejournal's ``nhn-access-basis``)."""

    CONSENT = "CONSENT"
    EMERGENCY = "EMERGENCY"
    EXCEPTION = "EXCEPTION"


# The Norwegian header values map onto the same three bases.
ACCESS_BASIS_ALIASES = {
    "SAMTYKKE": AccessBasis.CONSENT,
    "AKUTT": AccessBasis.EMERGENCY,
    "UNNTAK": AccessBasis.EXCEPTION,
    **{basis.value: basis for basis in AccessBasis},
}


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated caller, from the token's claims."""

    kind: ActorKind
    subject: str
    name: str | None = None
    hpr_number: str | None = None
    pid: str | None = None
    authorizations: tuple[str, ...] = ()
    legal_entity: str | None = None
    point_of_care: str | None = None
    organisation_name: str | None = None
    client_name: str | None = None
    issuer: str = ""


@dataclass(frozen=True, slots=True)
class StatedAccess:
    """What the caller states for this request: purpose, basis and a break-the-glass reason."""

    purpose: PurposeOfUse | None = None
    basis: AccessBasis | None = None
    btg_reason: str | None = None

    @property
    def emergency(self) -> bool:
        """An emergency access raises a privacy-officer alert."""
        return self.purpose is PurposeOfUse.BTG or self.basis is AccessBasis.EMERGENCY
