"""The FHIR search client against small real servers: paging rules and the error boundary."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from gateway.errors import SourceBadResponse, SourceUnavailable
from gateway.execution.shared_list import SharedList
from gateway.identity import parse
from gateway.settings import Settings, SourceSettings
from gateway.upstream.cache import UpstreamCache
from gateway.upstream.fhir import FhirSource, SearchResult
from gateway.upstream.guard import Upstream
from mocks.fixtures import fixture
from tests.conftest import served

NIN = parse(fixture("home-care-elderly").nin)
"""Whose data the searches ask for. The answers hold Locations, which are nobody's data: the
patient binding's checks are tested in tests/gateway/upstream/test_binding.py."""

Handler = Callable[[web.Request], Any]


def fhir_source(name: str, settings: SourceSettings, session: aiohttp.ClientSession) -> FhirSource:
    """A source with a memory cache of its own, as a script would build one."""
    upstream = Upstream(name, settings, UpstreamCache.memory(Settings()))
    return FhirSource(name, settings, session, upstream)


@contextlib.asynccontextmanager
async def _serving(handler: Handler) -> AsyncIterator[str]:
    """A real HTTP server answering every ``/fhir/...`` GET with ``handler``; yields its URL."""
    app = web.Application()
    app.router.add_get("/fhir/{tail:.*}", handler)
    async with served(app) as url:
        yield f"{url}/fhir"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _bundle(entries: int, next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": {"resourceType": "Location", "id": str(i)}, "search": {"mode": "match"}}
            for i in range(entries)
        ],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


async def test_a_next_link_to_another_origin_is_refused_without_following_it(
    session: aiohttp.ClientSession,
) -> None:
    elsewhere_hits: list[str] = []

    async def elsewhere(request: web.Request) -> web.Response:
        elsewhere_hits.append(request.path_qs)
        return web.json_response(_bundle(1))

    async with _serving(elsewhere) as other_url:

        async def registry(request: web.Request) -> web.Response:
            return web.json_response(_bundle(1, f"{other_url}/Encounter?page=2"))

        async with _serving(registry) as url:
            fhir = fhir_source("visit_history", SourceSettings(base_url=url), session)
            with pytest.raises(SourceBadResponse, match="outside the source"):
                await fhir.search("Location", [("subject:identifier", "x|1")], patient=NIN)
    assert elsewhere_hits == [], "the identity number never left for another host"


async def test_paging_stops_at_the_page_cap_and_says_truncated(
    session: aiohttp.ClientSession,
) -> None:
    pages_served: list[str] = []

    async def registry(request: web.Request) -> web.Response:
        pages_served.append(request.query.get("page", "1"))
        page = int(request.query.get("page", "1"))
        base = f"{request.url.origin()}/fhir/Encounter"
        return web.json_response(_bundle(2, f"{base}?page={page + 1}"))

    async with _serving(registry) as url:
        fhir = fhir_source("visit_history", SourceSettings(base_url=url, max_pages=3), session)
        result = await fhir.search("Location", [], patient=NIN)
        assert (len(result.matches), result.pages, result.truncated) == (6, 3, True)
        assert pages_served == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, SourceUnavailable),
        (503, SourceUnavailable),
        (429, SourceUnavailable),
        (404, SourceBadResponse),
    ],
)
async def test_http_errors_are_translated_at_the_boundary(
    session: aiohttp.ClientSession, status: int, error: type[Exception]
) -> None:
    async def registry(request: web.Request) -> web.Response:
        return web.json_response({"resourceType": "OperationOutcome"}, status=status)

    async with _serving(registry) as url:
        fhir = fhir_source("documents", SourceSettings(base_url=url), session)
        with pytest.raises(error) as raised:
            await fhir.search(
                "DocumentReference", [("subject:identifier", "x|12834122055")], patient=NIN
            )
        assert "12834122055" not in str(raised.value), "messages never carry the identifier"


async def test_a_bundle_whose_entries_are_not_resources_is_a_bad_response(
    session: aiohttp.ClientSession,
) -> None:
    async def registry(request: web.Request) -> web.Response:
        return web.json_response({"resourceType": "Bundle", "entry": [{"resource": "nope"}]})

    async with _serving(registry) as url:
        fhir = fhir_source("documents", SourceSettings(base_url=url), session)
        with pytest.raises(SourceBadResponse):
            await fhir.search("DocumentReference", [], patient=NIN)


async def test_unusable_fhir_in_a_mapping_is_a_bad_response_not_a_crash(
    session: aiohttp.ClientSession,
) -> None:
    async def registry(request: web.Request) -> web.Response:
        return web.json_response(_bundle(1))

    async with _serving(registry) as url:
        fhir = fhir_source("documents", SourceSettings(base_url=url), session)
        with pytest.raises(SourceBadResponse, match="unusable FHIR"):
            await fhir.fetch(
                "Location", [], lambda result: result.matches[0]["missing"], patient=NIN
            )


def _ids(result: SearchResult) -> list[str]:
    return [str(resource["id"]) for resource in result.matches]


async def test_a_cached_answer_is_mapped_once_and_a_new_answer_afresh(
    session: aiohttp.ClientSession,
) -> None:
    """Mapped objects are kept with the cached answer they came from (their completion is then
    reused, see test_shared_results): a mapping that reads only the FHIR is run once per
    answer; one that closes over anything else is run every time; a new answer is mapped anew."""
    entries = [2]

    async def registry(request: web.Request) -> web.Response:
        return web.json_response(_bundle(entries[0]))

    async with _serving(registry) as url:
        settings = SourceSettings(base_url=url, cache_ttl_s=60)
        fhir = fhir_source("visit_history", settings, session)
        first = await fhir.fetch("Location", [], _ids, patient=NIN)
        second = await fhir.fetch("Location", [], _ids, patient=NIN)
        third = await fhir.fetch("Location", [], _ids, patient=NIN)
        assert first.items == ["0", "1"]
        assert first.provenance.from_cache is False and third.provenance.from_cache is True
        assert third.items is second.items, "the cached answer's mapping is reused"
        assert type(third.items) is SharedList

        suffix = "!"
        closing = await fhir.fetch(
            "Location", [], lambda result: [i + suffix for i in _ids(result)], patient=NIN
        )
        closing_again = await fhir.fetch(
            "Location", [], lambda result: [i + suffix for i in _ids(result)], patient=NIN
        )
        assert closing.items == ["0!", "1!"] and closing_again.items is not closing.items

        entries[0] = 3
        await fhir.upstream._cache.invalidate_patient("visit_history", NIN.value)
        fresh = await fhir.fetch("Location", [], _ids, patient=NIN)
        cached = await fhir.fetch("Location", [], _ids, patient=NIN)
        assert fresh.items == ["0", "1", "2"] and cached.items == ["0", "1", "2"]
        assert cached.items is not third.items
