"""The privacy settings are read whole or not at all: a block never falls off a page.

Over HTTP through the real gateway and the real core-record mock. The history of Consents is
made the way a patient makes it (restrict, then open: each cycle leaves an inactive Consent in
the record), or written straight to the registry as another system would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from mocks.faults import Fault, FaultKind
from mocks.fixtures import BLOCKED_HPR_NUMBER, fixture
from mocks.personas import HPR_NUMBER, PID
from mocks.runner import MockRegistries
from mocks.sources import Source
from tests.conftest import GatewayServer, bearer, serve, settings_for
from tests.e2e.documents import BLOCK, UNBLOCK

BLOCKING = fixture("blocked-hpr")  # blocks BLOCKED_HPR_NUMBER (persona blocked-doctor)
CONSENT_SYSTEM = "https://summary-gateway.example/fhir/CodeSystem/privacy"
HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"

SUMMARY = """
query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) { criticalInformation { status } medications { status } }
}"""
STATUS = """
query($nin: NationalIdentityNumber!) {
  patientStatus(nin: $nin) { reserved restrictedSections blockedForMe }
}"""
RESTRICT = """
mutation($nin: NationalIdentityNumber!) {
  restrictSections(nin: $nin, sections: [MEDICATIONS]) { entries { id } }
}"""
OPEN = """
mutation($nin: NationalIdentityNumber!) {
  openSections(nin: $nin, sections: [MEDICATIONS]) { entries { id } }
}"""


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def _as_patient(gw: GatewayServer, query: str, **variables: Any) -> dict[str, Any]:
    body = await gw.graphql(
        query, {"nin": BLOCKING.nin, **variables},
        headers=bearer("patient", **{PID: BLOCKING.nin}), persona=None,
    )  # fmt: skip
    assert body.get("errors") is None, body
    return body


async def _restrict_and_open(gw: GatewayServer, times: int) -> None:
    """Leave ``times`` inactive restrictions in the record, newer than the seeded block."""
    for _ in range(times):
        await _as_patient(gw, RESTRICT)
        await _as_patient(gw, OPEN)


@pytest.fixture
async def small_pages(registries: MockRegistries) -> AsyncIterator[GatewayServer]:
    """A gateway that reads two entries a page and, for ordinary searches, two pages."""
    async with serve(settings_for(registries, page_size=2, max_pages=2)) as gw:
        yield gw


async def test_a_blocked_doctor_stays_blocked_behind_many_inactive_consents(
    small_pages: GatewayServer, registries: MockRegistries
) -> None:
    # Four inactive Consents, newest first: the block is the fifth entry, on the third page.
    await _restrict_and_open(small_pages, 4)
    status = await small_pages.graphql(STATUS, {"nin": BLOCKING.nin}, persona="blocked-doctor")
    assert status.get("errors") is None, status
    assert status["data"]["patientStatus"] == {
        "reserved": False, "restrictedSections": [], "blockedForMe": True,
    }  # fmt: skip
    summary = await small_pages.graphql(SUMMARY, {"nin": BLOCKING.nin}, persona="blocked-doctor")
    assert summary["data"] == {"patient": None}
    assert _codes(summary) == ["BLOCKED"]
    assert BLOCKED_HPR_NUMBER == "9144900"


async def test_privacy_settings_longer_than_the_whole_read_cap_fail_closed(
    registries: MockRegistries,
) -> None:
    settings = settings_for(registries, page_size=2, max_pages=2, whole_read_max_pages=2)
    async with serve(settings) as gw:
        # Five Consents in force (the seeded block and four new ones): three pages of two.
        for hpr in ("9144801", "9144802", "9144803", "9144804"):
            await _as_patient(gw, BLOCK, hpr=hpr)
        for persona in ("blocked-doctor", "emergency-doctor"):
            status = await gw.graphql(STATUS, {"nin": BLOCKING.nin}, persona=persona)
            assert status["data"] is None
            assert _codes(status) == ["SOURCE_INCOMPLETE"]
            summary = await gw.graphql(SUMMARY, {"nin": BLOCKING.nin}, persona=persona)
            assert summary["data"] == {"patient": None}
            assert _codes(summary) == ["SOURCE_INCOMPLETE"]
    # No section's registry was asked: the summary stopped at the privacy read.
    assert all(
        registries.stats(s).about_patients == 0 for s in Source if s is not Source.CORE_RECORD
    )


async def test_a_privacy_page_that_fails_fails_closed(
    small_pages: GatewayServer, registries: MockRegistries
) -> None:
    await _restrict_and_open(small_pages, 1)
    for hpr in ("9144801", "9144802"):
        await _as_patient(small_pages, BLOCK, hpr=hpr)
    await registries.set_fault(
        Source.CORE_RECORD,
        Fault(FaultKind.BROKEN_NEXT_LINK, resource_types=frozenset({"Consent"})),
    )
    status = await small_pages.graphql(STATUS, {"nin": BLOCKING.nin}, persona="blocked-doctor")
    assert status["data"] is None and _codes(status) == ["SOURCE_BAD_RESPONSE"]
    summary = await small_pages.graphql(SUMMARY, {"nin": BLOCKING.nin}, persona="blocked-doctor")
    assert summary["data"] == {"patient": None} and _codes(summary) == ["SOURCE_BAD_RESPONSE"]


async def _write_consent(registries: MockRegistries, provision: dict[str, Any]) -> None:
    """A Consent written to the registry by some other system than the gateway."""
    consent = {
        "resourceType": "Consent",
        "status": "active",
        "category": [{"coding": [{"system": CONSENT_SYSTEM, "code": "block"}]}],
        "patient": {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1",
                                   "value": BLOCKING.nin}},
        "provision": provision,
    }  # fmt: skip
    url = f"{registries.base_urls[Source.CORE_RECORD]}/Consent"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=consent, headers={"Content-Type": "application/fhir+json"}) as sent,
    ):
        assert sent.status == 201, await sent.text()


def _actor(hpr: str, system: str = HPR_SYSTEM) -> dict[str, Any]:
    return {"reference": {"identifier": {"system": system, "value": hpr}}}


@pytest.mark.parametrize(
    "provision",
    [
        # A block for a period: the gateway does not apply periods, so it cannot say who is in.
        {"type": "deny", "actor": [_actor("9144901")], "period": {"end": "2099-01-01"}},
        # A block of someone named by another identifier system.
        {"type": "deny", "actor": [_actor("12345678", "urn:oid:2.16.578.1.12.4.1.2")]},
        # A block of someone whose number is not one (a trailing newline).
        {"type": "deny", "actor": [_actor("9144901\n")]},
        # A nested provision.
        {"type": "deny", "actor": [_actor("9144901")], "provision": [{"type": "permit"}]},
        # A permit where a deny was expected.
        {"type": "permit", "actor": [_actor("9144901")]},
    ],
    ids=["period", "other-system", "newline", "nested", "permit"],
)
async def test_a_consent_the_gateway_does_not_understand_fails_closed(
    gateway: GatewayServer, registries: MockRegistries, provision: dict[str, Any]
) -> None:
    await _write_consent(registries, provision)
    status = await gateway.graphql(STATUS, {"nin": BLOCKING.nin}, persona="emergency-doctor")
    assert status["data"] is None and _codes(status) == ["PRIVACY_SETTINGS_UNKNOWN"]
    summary = await gateway.graphql(SUMMARY, {"nin": BLOCKING.nin}, persona="emergency-doctor")
    assert summary["data"] == {"patient": None}
    assert _codes(summary) == ["PRIVACY_SETTINGS_UNKNOWN"]


async def test_a_block_written_with_a_leading_zero_still_holds(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    await _write_consent(registries, {"type": "deny", "actor": [_actor("09144901")]})
    status = await gateway.graphql(STATUS, {"nin": BLOCKING.nin}, persona="emergency-doctor")
    assert status["data"]["patientStatus"]["blockedForMe"] is True


async def test_a_blocked_doctor_whose_token_spells_the_number_otherwise_is_still_kept_out(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    # The same person with a leading zero: still blocked.
    zero = bearer("blocked-doctor", **{HPR_NUMBER: f"0{BLOCKED_HPR_NUMBER}"})
    body = await gateway.graphql(SUMMARY, {"nin": BLOCKING.nin}, headers=zero, persona=None)
    assert body["data"] == {"patient": None} and _codes(body) == ["BLOCKED"]
    # A number with no one spelling cannot be matched to a block, so it passes none.
    odd = bearer("blocked-doctor", **{HPR_NUMBER: f"{BLOCKED_HPR_NUMBER}\n"})
    body = await gateway.graphql(SUMMARY, {"nin": BLOCKING.nin}, headers=odd, persona=None)
    assert body["data"] == {"patient": None} and _codes(body) == ["FORBIDDEN"]
    status = await gateway.graphql(STATUS, {"nin": BLOCKING.nin}, headers=odd, persona=None)
    assert status["data"] is None and _codes(status) == ["FORBIDDEN"]


async def test_the_patient_lifts_a_block_another_system_wrote_with_a_leading_zero(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    await _write_consent(registries, {"type": "deny", "actor": [_actor("09144901")]})
    lifted = await _as_patient(gateway, UNBLOCK, hpr="9144901")
    assert len(lifted["data"]["unblockHealthPersonnel"]["entries"]) == 1
    status = await gateway.graphql(STATUS, {"nin": BLOCKING.nin}, persona="emergency-doctor")
    assert status["data"]["patientStatus"]["blockedForMe"] is False
