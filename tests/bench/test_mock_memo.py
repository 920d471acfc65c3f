"""The benchmark's memoised registries (``mocks/memo.py``): a repeated read is answered from the
memo with the very bytes a fresh search gives, still counted; a write empties the memo."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from mocks import Population, Source
from mocks.fixtures import fixture
from mocks.modes import Mode, ServerMode
from mocks.search import SearchAnswer, SearchSpec, search
from mocks.server import MockServer

PATIENT = fixture("critical-allergies")
NUMBER_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
JSON = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}


@pytest.fixture
async def core() -> AsyncIterator[MockServer]:
    server = MockServer(Source.CORE_RECORD, Population(size=10), memoise=True)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The resource types the registry actually searched (not answered from the memo)."""
    searched: list[str] = []

    def counted(spec: SearchSpec, *args: Any) -> SearchAnswer:
        searched.append(spec.resource_type)
        return search(spec, *args)

    monkeypatch.setattr("mocks.registry_app.search", counted)
    return searched


async def _get(url: str) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=JSON) as response:
        return response.status, response.headers["Content-Type"], await response.read()


def _flags_url(server: MockServer) -> str:
    return f"{server.base_url}/Flag?subject:identifier={NUMBER_SYSTEM}|{PATIENT.nin}"


async def test_a_repeated_search_is_answered_from_the_memo_byte_for_byte_and_counted(
    core: MockServer, searches: list[str]
) -> None:
    fresh = await _get(_flags_url(core))
    memoised = await _get(_flags_url(core))
    assert searches == ["Flag"]  # the second answer was not searched again
    assert memoised == fresh
    assert fresh[0] == 200 and fresh[1].startswith("application/fhir+json")
    assert core.stats().by_resource_type["Flag"] == 2  # counted though memoised


async def test_a_write_clears_the_memo(core: MockServer, searches: list[str]) -> None:
    _, _, before = await _get(_flags_url(core))
    flag = {
        "resourceType": "Flag",
        "status": "active",
        "code": {"text": "MRSA"},
        "subject": {"identifier": {"system": NUMBER_SYSTEM, "value": PATIENT.nin}},
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{core.base_url}/Flag", data=orjson.dumps(flag), headers=JSON) as response,
    ):
        assert response.status == 201
    _, _, after = await _get(_flags_url(core))
    assert searches == ["Flag", "Flag"]
    texts = [e["resource"]["code"].get("text") for e in orjson.loads(after)["entry"]]
    assert "MRSA" in texts
    assert len(orjson.loads(after)["entry"]) == len(orjson.loads(before)["entry"]) + 1


async def test_a_post_to_the_base_is_a_batch_and_keeps_the_memo(core: MockServer) -> None:
    await _get(_flags_url(core))
    assert core.memo is not None and len(core.memo) == 1
    async with aiohttp.ClientSession() as session:
        async with session.post(core.base_url, data=b"{}", headers=JSON):
            pass
        assert len(core.memo) == 1
        async with session.put(f"{core.base_url}/Flag/none", data=b"{}", headers=JSON):
            pass  # refused, but a write all the same
    assert len(core.memo) == 0


async def test_the_server_mode_is_part_of_the_key(core: MockServer, searches: list[str]) -> None:
    _, _, dialect = await _get(_flags_url(core))
    core.set_mode(ServerMode.of(Mode.STANDARD))
    _, _, standard = await _get(_flags_url(core))
    assert searches == ["Flag", "Flag"]
    assert standard != dialect  # references to the patient by id, not by number


async def test_tests_and_the_demo_never_memoise() -> None:
    assert MockServer(Source.CORE_RECORD, Population(size=10)).memo is None


async def test_a_batchs_entries_are_memoised_too_and_still_counted(
    core: MockServer, searches: list[str]
) -> None:
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": f"Flag?subject:identifier={NUMBER_SYSTEM}|{nin}"}}
            for nin in (PATIENT.nin,)
        ]
        + [{"request": {"method": "GET", "url": "Condition?subject=Patient/nobody"}}],
    }
    answers = []
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            async with session.post(core.base_url, data=orjson.dumps(batch), headers=JSON) as r:
                assert r.status == 200
                answers.append(await r.read())
    assert answers[0] == answers[1]
    assert orjson.loads(answers[0])["type"] == "batch-response"
    assert searches == ["Flag", "Condition"], "the second batch was answered from the memo"
    counts = core.stats().by_resource_type
    assert counts["Flag"] == counts["Condition"] == 2
