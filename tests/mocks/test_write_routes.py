"""The core record's FHIR writes: create (conditional), update with versions and ETags, 412/409
for a stale version, and searches that show what was written (a population of its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from multidict import CIMultiDict

from mocks import EPHEMERAL_PORTS, MockRegistries, Population, Source
from mocks.fixtures import fixture
from tests.mocks.fhir_client import token

PATIENT = fixture("critical-allergies")
SYSTEM = "https://example.test/key"
JSON = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}


@pytest.fixture
async def core() -> AsyncIterator[str]:
    async with MockRegistries(
        Population(size=10), sources=[Source.CORE_RECORD], ports=EPHEMERAL_PORTS
    ) as mocks:
        yield mocks.base_urls[Source.CORE_RECORD]


def _flag(text: str) -> dict[str, Any]:
    return {
        "resourceType": "Flag",
        "status": "active",
        "code": {"text": text},
        "subject": {
            "identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": PATIENT.nin}
        },
        "identifier": [{"system": SYSTEM, "value": "k1"}],
    }


async def _send(
    session: aiohttp.ClientSession, method: str, url: str, body: object, **headers: str
) -> tuple[int, CIMultiDict[str], dict[str, Any]]:
    async with session.request(
        method, url, data=orjson.dumps(body), headers={**JSON, **headers}
    ) as response:
        return response.status, CIMultiDict(response.headers), orjson.loads(await response.read())


async def test_create_update_and_stale_versions(core: str, session: aiohttp.ClientSession) -> None:
    status, headers, created = await _send(session, "POST", f"{core}/Flag", _flag("MRSA"))
    assert status == 201 and headers["ETag"] == 'W/"1"'
    assert headers["Location"].endswith(f"/Flag/{created['id']}/_history/1")
    assert created["meta"]["versionId"] == "1"

    url = f"{core}/Flag/{created['id']}"
    changed = {**created, "code": {"text": "MRSA-bærer"}}
    status, headers, updated = await _send(session, "PUT", url, changed, **{"If-Match": 'W/"1"'})
    assert status == 200 and headers["ETag"] == 'W/"2"' and updated["meta"]["versionId"] == "2"

    status, _, outcome = await _send(session, "PUT", url, changed, **{"If-Match": 'W/"1"'})
    assert status == 412 and outcome["resourceType"] == "OperationOutcome"
    stale_body = {**changed, "meta": {"versionId": "1"}}
    status, _, _ = await _send(session, "PUT", url, stale_body)
    assert status == 409, "a stale meta.versionId without If-Match"

    async with session.get(url, headers=JSON) as response:
        assert response.status == 200 and response.headers["ETag"] == 'W/"2"'
    async with session.get(
        f"{core}/Flag", params={"subject:identifier": token(PATIENT.nin)}, headers=JSON
    ) as response:
        bundle = await response.json(content_type=None)
    texts = [e["resource"]["code"]["text"] for e in bundle["entry"]]
    assert texts[0] == "MRSA-bærer", "the newest first, the written version in the search"


async def test_a_conditional_create_finds_the_first_and_writes_nothing(
    core: str, session: aiohttp.ClientSession
) -> None:
    condition = {"If-None-Exist": f"identifier={SYSTEM}|k1"}
    first = await _send(session, "POST", f"{core}/Flag", _flag("A"), **condition)
    again = await _send(session, "POST", f"{core}/Flag", _flag("B"), **condition)
    assert (first[0], again[0]) == (201, 200)
    assert again[2]["id"] == first[2]["id"] and again[2]["code"]["text"] == "A"


async def test_an_update_cannot_move_an_entry_to_another_patient(
    core: str, session: aiohttp.ClientSession
) -> None:
    _, _, created = await _send(session, "POST", f"{core}/Flag", _flag("A"))
    other = fixture("no-gp").nin
    moved = {**created, "subject": {"identifier": {"system": "x", "value": other}}}
    status, _, _ = await _send(
        session, "PUT", f"{core}/Flag/{created['id']}", moved, **{"If-Match": 'W/"1"'}
    )
    assert status == 422
    status, _, _ = await _send(session, "POST", f"{core}/Patient", {"resourceType": "Patient"})
    assert status == 405, "only the core record's writable types"
