"""The patient's privacy settings (reservation, restrictions, blocks), from Consent resources.

Read before anything else for every summary: the policy needs them to decide what may be
fetched at all (docs/fhir-profile.md, "Consent").

The read fails closed. Only a whole read counts (every page, ``FhirSource.search(whole=True)``),
and only Consents understood in full. Which Consents count:

- only ``status: active`` ones; FHIR's other statuses are not in force and are skipped (a
  status FHIR does not define is not understood);
- a Consent carrying a code of the gateway's privacy system (``PRIVACY_SYSTEM``) is a privacy
  setting whatever its scope: ignoring one would fail open;
- any other Consent whose ``scope`` names a FHIR consent scope other than ``patient-privacy``
  (``treatment``, ``research``, ``adr``) is not about privacy settings and is skipped;
- every other active Consent (scope ``patient-privacy``, or no scope the gateway recognises) is
  a privacy setting, and must be one it understands.

A privacy setting not understood (another category such as LOINC 59284-0, a coded OPTIN/OPTOUT
policy, a provision this module cannot interpret, an actor without an HPR number) raises
``ConsentNotUnderstood``, which the source client turns into PRIVACY_SETTINGS_UNKNOWN. A block
or restriction not understood is not a block or restriction absent: then nothing is shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from gateway.access.hpr import canonical_hpr
from gateway.access.policy import ALL_SECTIONS, PrivacySettings
from gateway.graphql.context import Context
from gateway.graphql.section import SourceName
from gateway.identity import NationalIdentityNumber
from gateway.upstream.fan_out import Fetched
from gateway.upstream.fhir import SearchResult, first, text
from resolvers.common import HPR_SYSTEM

SOURCE = SourceName.CORE_RECORD
PRIVACY_SYSTEM = "https://summary-gateway.example/fhir/CodeSystem/privacy"

CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
PRIVACY_SCOPE = "patient-privacy"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OPT_POLICIES = frozenset({"OPTIN", "OPTINR", "OPTOUT", "OPTOUTE"})

ACTIVE = "active"
# FHIR R4's other Consent statuses: none of them is in force. Any other status is not FHIR.
NOT_IN_FORCE = frozenset({"draft", "proposed", "rejected", "inactive", "entered-in-error"})
CATEGORIES = frozenset({"reservation", "restriction", "block"})
# What a provision of each category may hold; anything more (a period, data, purpose, nested
# provisions) would narrow or widen it in a way this reader does not apply.
_PROVISION_KEYS = {"restriction": {"type", "code"}, "block": {"type", "actor"}}


class ConsentNotUnderstood(ValueError):
    """An active privacy Consent the gateway cannot interpret: the settings are unknown."""


def _codes(concept: Any, system: str) -> set[Any]:
    if not isinstance(concept, Mapping):
        return set()
    return {c.get("code") for c in concept.get("coding") or () if c.get("system") == system}


def _privacy_codes(consent: Mapping[str, Any]) -> set[Any]:
    """Codes of the gateway's privacy system anywhere a Consent classifies itself or names
    what it restricts."""
    provision = consent.get("provision")
    concepts = [
        consent.get("scope"),
        *(consent.get("category") or ()),
        *((provision.get("code") or ()) if isinstance(provision, Mapping) else ()),
    ]
    return set().union(*(_codes(concept, PRIVACY_SYSTEM) for concept in concepts))


def _check_policy(consent: Mapping[str, Any]) -> None:
    """The gateway's privacy Consents give their legal basis as text. A coded opt-in/opt-out
    policy (v3 ActCode OPTIN, OPTOUT…) would turn what the provision means around; this reader
    does not apply one, so such a Consent is not understood."""
    if _codes(consent.get("policyRule"), ACT_CODE_SYSTEM) & OPT_POLICIES:
        raise ConsentNotUnderstood("a privacy Consent with an opt-in or opt-out policy")


def _about_something_else(consent: Mapping[str, Any]) -> bool:
    """A Consent of another scope (treatment, research, advance directive): not a privacy
    setting. Only a scope the FHIR consent-scope system names counts; one we cannot read does
    not, so such a Consent is taken as a privacy setting (and then must be understood)."""
    if _privacy_codes(consent):
        return False
    scopes = _codes(consent.get("scope"), CONSENT_SCOPE_SYSTEM)
    return bool(scopes) and PRIVACY_SCOPE not in scopes


def _category(consent: Mapping[str, Any]) -> str:
    codes = {
        coding.get("code")
        for concept in consent.get("category") or ()
        for coding in concept.get("coding") or ()
        if coding.get("system") == PRIVACY_SYSTEM
    }
    if len(codes) != 1 or not codes <= CATEGORIES:
        raise ConsentNotUnderstood("a privacy Consent of no known category")
    return str(codes.pop())


def _in_force(consent: Mapping[str, Any]) -> bool:
    status = consent.get("status")
    if status == ACTIVE:
        return True
    if status in NOT_IN_FORCE:
        return False
    raise ConsentNotUnderstood("a privacy Consent with a status FHIR does not define")


def _provision(consent: Mapping[str, Any], category: str) -> Mapping[str, Any]:
    provision = consent.get("provision")
    if category == "reservation":
        if provision is not None:
            raise ConsentNotUnderstood("a reservation with a provision")
        return {}
    if not isinstance(provision, Mapping) or provision.get("type") != "deny":
        raise ConsentNotUnderstood("a restriction or block that is not a deny provision")
    if not set(provision) <= _PROVISION_KEYS[category]:
        raise ConsentNotUnderstood("a provision with parts this reader does not apply")
    return provision


def _restricted(provision: Mapping[str, Any]) -> set[str]:
    codes = {first(code.get("coding")).get("code") for code in provision.get("code") or ()}
    # A restriction naming no section (or an unknown one) restricts the whole record:
    # when in doubt, withhold.
    named = {code for code in codes if code in ALL_SECTIONS}
    return named if named and named == codes else set(ALL_SECTIONS)


def _blocked(provision: Mapping[str, Any]) -> set[str]:
    actors = provision.get("actor") or ()
    if not actors:
        raise ConsentNotUnderstood("a block that names nobody")
    blocked = set()
    for actor in actors:
        identifier = (actor.get("reference") or {}).get("identifier") or {}
        value = text(identifier.get("value"))
        number = canonical_hpr(value) if value is not None else None
        if identifier.get("system") != HPR_SYSTEM or number is None:
            raise ConsentNotUnderstood("a block of someone not named by an HPR number")
        blocked.add(number)
    return blocked


def privacy_settings(result: SearchResult) -> PrivacySettings:
    """The settings the patient's active privacy Consents add up to; ``ValueError`` when the
    read was not whole, ``ConsentNotUnderstood`` (a ``ValueError``) when a privacy Consent is
    not understood (then they are unknown)."""
    if result.truncated:
        raise ValueError("the privacy settings were not read whole")
    reserved = False
    restricted: set[str] = set()
    blocked: set[str] = set()
    for consent in result.matches:
        # The search asks for active Consents only; a server may ignore that, so check again.
        if _about_something_else(consent) or not _in_force(consent):
            continue
        category = _category(consent)
        _check_policy(consent)
        provision = _provision(consent, category)
        if category == "reservation":
            reserved = True
        elif category == "restriction":
            restricted |= _restricted(provision)
        else:
            blocked |= _blocked(provision)
    return PrivacySettings(reserved, frozenset(restricted), frozenset(blocked))


def consent_params(nin: NationalIdentityNumber) -> list[tuple[str, str]]:
    """The search for the patient's privacy Consents in force (by ``patient``, bound as every
    search is); the reader and the writer ask the same (they share one flight)."""
    return [("status", ACTIVE)]


def prefetch(ctx: Context, nin: NationalIdentityNumber) -> asyncio.Future[Fetched[PrivacySettings]]:
    """Start (or join) this request's search for the patient's privacy settings."""
    client = ctx.clients.core_record
    return ctx.fetches.search(SOURCE.value, "Consent", nin.value, lambda: client.privacy(nin))
