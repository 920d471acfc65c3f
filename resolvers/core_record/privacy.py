"""The patient's privacy settings (reservation, restrictions, blocks), from Consent resources.

Read before anything else for every summary: the policy needs them to decide what may be
fetched at all (docs/fhir-profile.md, "Consent").
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from gateway.context import Context
from gateway.fetch import Fetched
from gateway.fhir import SearchResult, first, text
from gateway.identity import NationalIdentityNumber
from gateway.policy import ALL_SECTIONS, PrivacySettings
from resolvers.common import HPR_SYSTEM
from resolvers.section import SourceName

SOURCE = SourceName.CORE_RECORD
PRIVACY_SYSTEM = "https://summary-gateway.example/fhir/CodeSystem/privacy"


def _category(consent: Mapping[str, Any]) -> str | None:
    for concept in consent.get("category") or ():
        for coding in concept.get("coding") or ():
            if coding.get("system") == PRIVACY_SYSTEM:
                return text(coding.get("code"))
    return None


def privacy_settings(result: SearchResult) -> PrivacySettings:
    """The settings the patient's active privacy Consents add up to."""
    reserved = False
    restricted: set[str] = set()
    blocked: set[str] = set()
    for consent in result.matches:
        if consent.get("status") != "active":
            continue
        category = _category(consent)
        provision = consent.get("provision") or {}
        if category == "reservation":
            reserved = True
        elif category == "restriction":
            codes = {first(code.get("coding")).get("code") for code in provision.get("code") or ()}
            # A restriction naming no section (or an unknown one) restricts the whole record:
            # when in doubt, withhold.
            named = {code for code in codes if code in ALL_SECTIONS}
            restricted |= named if named and named == codes else set(ALL_SECTIONS)
        elif category == "block":
            for actor in provision.get("actor") or ():
                identifier = (actor.get("reference") or {}).get("identifier") or {}
                if identifier.get("system") == HPR_SYSTEM and text(identifier.get("value")):
                    blocked.add(identifier["value"])
    return PrivacySettings(reserved, frozenset(restricted), frozenset(blocked))


def prefetch(ctx: Context, nin: NationalIdentityNumber) -> asyncio.Future[Fetched[PrivacySettings]]:
    """Start (or join) this request's search for the patient's privacy settings."""
    client = ctx.clients.core_record
    return ctx.fetches.search(SOURCE.value, "Consent", nin.value, lambda: client.privacy(nin))
