"""Retries of upstream reads against a small real server: Retry-After, the deadline, what is
never retried."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from gateway.errors import SourceBadResponse, SourceTimeout, SourceUnavailable
from gateway.settings import SourceSettings
from gateway.upstream.deadline import request_deadline
from gateway.upstream.fhir import FhirSource
from gateway.upstream.retry import retry_after_seconds
from tests.gateway.upstream.test_fhir import NIN, _bundle, _serving, fhir_source


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@contextlib.asynccontextmanager
async def deadline_in(seconds: float) -> AsyncIterator[None]:
    """Run the block as a request whose deadline is ``seconds`` away."""
    token = request_deadline.set(asyncio.get_running_loop().time() + seconds)
    try:
        yield
    finally:
        request_deadline.reset(token)


def _source(url: str, session: aiohttp.ClientSession, **options: float) -> FhirSource:
    # No cache and no breaker in the way: each search reaches the server.
    settings = SourceSettings(
        base_url=url,
        cache_ttl_s=0,
        stale_max_s=0,
        breaker_failure_threshold=1000,
        retry_backoff_s=0.01,
        **options,
    )
    return fhir_source("lab_results", settings, session)


def _failing_first(
    hits: list[float], failures: int, status: int, retry_after: str | None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        hits.append(asyncio.get_running_loop().time())
        if len(hits) <= failures:
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            return web.Response(status=status, headers=headers)
        return web.json_response(_bundle(1))

    return handler


async def test_a_transient_failure_is_retried_and_the_search_succeeds(
    session: aiohttp.ClientSession,
) -> None:
    hits: list[float] = []
    async with _serving(_failing_first(hits, 1, 500, None)) as url:
        result = await _source(url, session, retries=2).search("Location", [], patient=NIN)
    assert len(result.matches) == 1
    assert len(hits) == 2


async def test_retries_stop_after_the_configured_count(session: aiohttp.ClientSession) -> None:
    hits: list[float] = []
    async with _serving(_failing_first(hits, 100, 503, "0")) as url:
        with pytest.raises(SourceUnavailable):
            await _source(url, session, retries=2).search("Location", [], patient=NIN)
    assert len(hits) == 3


async def test_retry_after_is_waited_before_the_next_try(session: aiohttp.ClientSession) -> None:
    hits: list[float] = []
    async with _serving(_failing_first(hits, 1, 429, "1")) as url, deadline_in(10):
        await _source(url, session, retries=1).search("Location", [], patient=NIN)
    assert len(hits) == 2
    assert hits[1] - hits[0] >= 0.95, "the registry asked for a second's pause"


async def test_no_retry_waits_past_the_request_deadline(session: aiohttp.ClientSession) -> None:
    hits: list[float] = []
    async with _serving(_failing_first(hits, 1, 503, "1")) as url, deadline_in(0.6):
        with pytest.raises(SourceUnavailable):
            await _source(url, session, retries=3).search("Location", [], patient=NIN)
    assert len(hits) == 1, "a one-second Retry-After does not fit in what is left"


async def test_a_timeout_is_not_retried(session: aiohttp.ClientSession) -> None:
    hits: list[float] = []

    async def slow(request: web.Request) -> web.Response:
        hits.append(0.0)
        await asyncio.sleep(1)
        return web.json_response(_bundle(1))

    async with _serving(slow) as url:
        with pytest.raises(SourceTimeout):
            await _source(url, session, retries=3, timeout_s=0.2).search(
                "Location", [], patient=NIN
            )
    assert len(hits) == 1


async def test_the_deadline_cuts_the_source_timeout(session: aiohttp.ClientSession) -> None:
    hits: list[float] = []

    async def slow(request: web.Request) -> web.Response:
        hits.append(0.0)
        await asyncio.sleep(1)
        return web.json_response(_bundle(1))

    # The source would wait 30 s; the request has 0.3 s. The search must not outlive it.
    async with _serving(slow) as url, deadline_in(0.3):
        search = _source(url, session, timeout_s=30).search("Location", [], patient=NIN)
        with pytest.raises(SourceTimeout):
            await asyncio.wait_for(search, timeout=5)


async def test_a_refused_search_is_not_retried(session: aiohttp.ClientSession) -> None:
    hits: list[float] = []
    async with _serving(_failing_first(hits, 100, 400, None)) as url:
        with pytest.raises(SourceBadResponse):
            await _source(url, session, retries=3).search("Location", [], patient=NIN)
    assert len(hits) == 1


async def test_nothing_is_sent_once_the_deadline_has_passed(
    session: aiohttp.ClientSession,
) -> None:
    hits: list[float] = []
    async with _serving(_failing_first(hits, 0, 200, None)) as url, deadline_in(0):
        with pytest.raises(SourceTimeout):
            await _source(url, session).search("Location", [], patient=NIN)
    assert hits == []


async def test_a_retry_after_longer_than_a_clinician_should_wait_ends_the_retries(
    session: aiohttp.ClientSession,
) -> None:
    hits: list[float] = []
    async with _serving(_failing_first(hits, 1, 503, "3")) as url, deadline_in(30):
        with pytest.raises(SourceUnavailable):
            await _source(url, session, retries=3).search("Location", [], patient=NIN)
    assert len(hits) == 1


def test_retry_after_is_read_in_seconds_or_as_an_http_date() -> None:
    assert retry_after_seconds("3") == 3
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    seconds = retry_after_seconds(email.utils.format_datetime(later, usegmt=True))
    assert seconds is not None
    assert 25 < seconds <= 30
