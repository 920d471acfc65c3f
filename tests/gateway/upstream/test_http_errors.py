"""The one error boundary for registry HTTP, against a real local server: what each failure to
get a usable answer becomes, for a registry and for its token endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from gateway.errors import (
    SourceAuthFailed,
    SourceBadResponse,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
)
from gateway.upstream.http_errors import (
    Answer,
    Peer,
    decode_json,
    exchange,
    fhir_resource,
    raise_for_status,
)
from tests.conftest import served

REGISTRY = Peer("lab_results")
TOKEN_ENDPOINT = Peer("lab_results", token_endpoint=True)
LIMITS = aiohttp.ClientTimeout(total=5)


async def _status(request: web.Request) -> web.Response:
    status = int(request.match_info["status"])
    headers = (
        {"Retry-After": request.query["retry_after"]} if "retry_after" in request.query else {}
    )
    return web.Response(status=status, body=b'{"resourceType": "Bundle"}', headers=headers)


RELEASE = web.AppKey("release", asyncio.Event)


async def _hang(request: web.Request) -> web.Response:
    # Answers only once the test is over, long after the client gave up.
    await request.app[RELEASE].wait()
    return web.Response(status=204)


async def _body(request: web.Request) -> web.Response:
    return web.Response(body=await request.read(), content_type="application/fhir+json")


async def _reset(request: web.Request) -> web.StreamResponse:
    # Closes the connection before any answer: the client sees a disconnect.
    assert request.transport is not None
    request.transport.close()
    return web.Response()


@contextlib.asynccontextmanager
async def _server() -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    app = web.Application()
    app.router.add_get("/status/{status}", _status)
    app.router.add_get("/hang", _hang)
    app.router.add_post("/echo", _body)
    app.router.add_get("/reset", _reset)
    app[RELEASE] = asyncio.Event()
    async with served(app) as url, aiohttp.ClientSession() as session:
        try:
            yield session, url
        finally:
            # Lets a hanging handler end, so the server's shutdown does not wait for it.
            app[RELEASE].set()


async def _get(peer: Peer, path: str, limits: aiohttp.ClientTimeout = LIMITS) -> Answer:
    async with _server() as (session, url):
        return await exchange(session, peer, "GET", url + path, timeouts=limits, ssl=True)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_any_status_comes_back_as_it_was_answered() -> None:
    answer = await _get(REGISTRY, "/status/412")
    assert answer.status == 412
    assert answer.body == b'{"resourceType": "Bundle"}'
    assert answer.headers["content-type"] == answer.headers["Content-Type"]


async def test_the_body_sent_arrives() -> None:
    async with _server() as (session, url):
        answer = await exchange(
            session, REGISTRY, "POST", f"{url}/echo", timeouts=LIMITS, ssl=True, data=b"{}"
        )
    assert (answer.status, answer.body) == (200, b"{}")


@pytest.mark.parametrize(
    ("peer", "kind"), [(REGISTRY, SourceTimeout), (TOKEN_ENDPOINT, SourceAuthFailed)]
)
async def test_no_answer_in_time_is_a_timeout_or_for_a_token_endpoint_no_credential(
    peer: Peer, kind: type[SourceError]
) -> None:
    with pytest.raises(SourceError) as raised:
        await _get(peer, "/hang", aiohttp.ClientTimeout(total=0.2))
    assert type(raised.value) is kind
    assert raised.value.source == "lab_results"
    assert raised.value.message.endswith("did not answer in time")


@pytest.mark.parametrize(
    ("peer", "kind"), [(REGISTRY, SourceUnavailable), (TOKEN_ENDPOINT, SourceAuthFailed)]
)
async def test_a_refused_connection_is_unavailable_or_for_a_token_endpoint_no_credential(
    peer: Peer, kind: type[SourceError]
) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(SourceError) as raised:
            await exchange(
                session,
                peer,
                "GET",
                f"http://127.0.0.1:{_closed_port()}/",
                timeouts=LIMITS,
                ssl=True,
            )
    assert type(raised.value) is kind
    assert "could not be reached" in raised.value.message


async def test_a_connection_closed_without_an_answer_is_unavailable() -> None:
    with pytest.raises(SourceUnavailable) as raised:
        await _get(REGISTRY, "/reset")
    assert type(raised.value) is SourceUnavailable


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_5xx_and_429_are_unavailable_with_the_servers_retry_after(status: int) -> None:
    answer = await _get(REGISTRY, f"/status/{status}?retry_after=7")
    with pytest.raises(SourceUnavailable) as raised:
        raise_for_status(REGISTRY, answer)
    assert type(raised.value) is SourceUnavailable
    assert raised.value.retry_after_s == 7.0
    assert f"HTTP {status}" in raised.value.message


async def test_without_retry_after_none_is_assumed() -> None:
    answer = await _get(REGISTRY, "/status/503")
    with pytest.raises(SourceUnavailable) as raised:
        raise_for_status(REGISTRY, answer)
    assert raised.value.retry_after_s is None


@pytest.mark.parametrize("status", [400, 403, 404, 410, 422])
async def test_another_4xx_is_a_bad_response_naming_what_was_refused(status: int) -> None:
    answer = await _get(REGISTRY, f"/status/{status}")
    with pytest.raises(SourceBadResponse) as raised:
        raise_for_status(REGISTRY, answer, "the write")
    assert type(raised.value) is SourceBadResponse
    assert raised.value.message == f"the lab results registry refused the write (HTTP {status})"


@pytest.mark.parametrize("status", [200, 201, 304])
async def test_success_and_redirect_statuses_pass(status: int) -> None:
    raise_for_status(REGISTRY, await _get(REGISTRY, f"/status/{status}"))


async def test_a_token_endpoints_5xx_is_an_authentication_failure() -> None:
    answer = await _get(TOKEN_ENDPOINT, "/status/503")
    with pytest.raises(SourceAuthFailed, match="its token endpoint answered HTTP 503"):
        raise_for_status(TOKEN_ENDPOINT, answer)


@pytest.mark.parametrize(
    ("peer", "kind"), [(REGISTRY, SourceBadResponse), (TOKEN_ENDPOINT, SourceAuthFailed)]
)
@pytest.mark.parametrize("body", [b"", b"{", b"<html>not json</html>", b'{"a": 1} trailing'])
async def test_malformed_json_is_the_servers_fault(
    peer: Peer, kind: type[SourceError], body: bytes
) -> None:
    with pytest.raises(SourceError) as raised:
        decode_json(peer, body)
    assert type(raised.value) is kind
    assert raised.value.message.endswith("sent malformed JSON")


@pytest.mark.parametrize("body", [b"[]", b'"Bundle"', b'{"resourceType": "Patient"}', b"{}"])
def test_json_that_is_not_the_resource_asked_for_is_a_bad_response(body: bytes) -> None:
    with pytest.raises(SourceBadResponse, match="did not answer with a FHIR Bundle"):
        fhir_resource(REGISTRY, body, "Bundle")


def test_the_resource_asked_for_is_returned() -> None:
    assert fhir_resource(REGISTRY, b'{"resourceType": "Bundle", "total": 0}', "Bundle") == {
        "resourceType": "Bundle",
        "total": 0,
    }


async def test_messages_never_hold_the_url() -> None:
    # The URL may name the patient: only the registry is named.
    answer = await _get(REGISTRY, "/status/400?identifier=12345678901")
    with pytest.raises(SourceBadResponse) as raised:
        raise_for_status(REGISTRY, answer)
    assert "12345678901" not in raised.value.message
    assert "127.0.0.1" not in raised.value.message
