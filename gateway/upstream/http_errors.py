"""The one error boundary for HTTP to registries and their token endpoints.

Every request the gateway sends upstream (FHIR reads, FHIR writes, OAuth2 token requests) goes
through :func:`exchange`, and every answer is judged by :func:`raise_for_status` and
:func:`decode_json`. They are the only code that turns a lower-level failure (``TimeoutError``,
``aiohttp.ClientError``, an HTTP status, ``orjson.JSONDecodeError``) into a ``SourceError``, as
httpx maps transport errors in one place. What a status *means* for one kind of call (a write's
412 is a version conflict, a read's 401 renews the credential) stays with that call; how a
failure to get an answer at all is named does not.

The mapping:

======================================  ===================================================
registry                                token endpoint (``Peer.token_endpoint``)
======================================  ===================================================
timeout           -> SourceTimeout      SourceAuthFailed: the registry was never asked,
refused, reset    -> SourceUnavailable  and no credential means no read (or write)
HTTP 5xx, 429     -> SourceUnavailable  (with ``Retry-After`` in seconds)
other HTTP 4xx    -> SourceBadResponse
malformed JSON    -> SourceBadResponse  SourceAuthFailed
======================================  ===================================================

Messages name the registry, never the URL (it may hold a patient's identifier) nor the body.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from gateway.errors import (
    SourceAuthFailed,
    SourceBadResponse,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
)
from gateway.upstream.retry import retry_after_seconds


@dataclass(frozen=True, slots=True)
class Peer:
    """Who is asked: the source the errors name, and how messages call the server."""

    source: str
    token_endpoint: bool = False

    @property
    def label(self) -> str:
        registry = f"the {self.source.replace('_', ' ')} registry"
        return f"{registry}: its token endpoint" if self.token_endpoint else registry

    def failed(self, kind: type[SourceError], what: str) -> SourceError:
        """A ``kind`` error about this peer; any failure of a token endpoint is an
        authentication failure (``SOURCE_AUTH_FAILED``), whatever went wrong."""
        return (SourceAuthFailed if self.token_endpoint else kind)(
            self.source, f"{self.label} {what}"
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """What the server answered, read whole."""

    status: int
    headers: Mapping[str, str]
    """Case-insensitive, as header names are."""
    body: bytes


async def exchange(
    session: aiohttp.ClientSession,
    peer: Peer,
    method: str,
    url: str,
    *,
    timeouts: aiohttp.ClientTimeout,
    ssl: ssl.SSLContext | bool,
    headers: Mapping[str, str] | None = None,
    params: Sequence[tuple[str, str]] | None = None,
    data: bytes | Mapping[str, str] | None = None,
) -> Answer:
    """Send one request and read its answer whole; a failure to get one is a ``SourceError``.
    Whatever status came back is returned: what it means is the caller's."""
    try:
        async with session.request(
            method, url, params=params, data=data, headers=headers, timeout=timeouts, ssl=ssl
        ) as response:
            return Answer(response.status, response.headers.copy(), await response.read())
    except TimeoutError as exc:
        raise peer.failed(SourceTimeout, "did not answer in time") from exc
    except aiohttp.ClientError as exc:
        raise peer.failed(SourceUnavailable, "could not be reached") from exc


def raise_for_status(peer: Peer, answer: Answer, refused: str = "the request") -> None:
    """A 2xx or 3xx passes; 5xx and 429 say the server is unavailable now (retry later); any
    other 4xx says it refused ``refused``."""
    status = answer.status
    if status >= 500 or status == 429:
        error = peer.failed(SourceUnavailable, f"answered HTTP {status}")
        if isinstance(error, SourceUnavailable):
            # The retry loop waits as long as the server asks (``gateway/upstream/retry.py``).
            error.retry_after_s = retry_after_seconds(answer.headers.get("Retry-After"))
        raise error
    if status >= 400:
        raise peer.failed(SourceBadResponse, f"refused {refused} (HTTP {status})")


def decode_json(peer: Peer, body: bytes) -> Any:
    """The JSON value of ``body``; malformed JSON is the server's fault (``SourceBadResponse``,
    or ``SourceAuthFailed`` from a token endpoint)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise peer.failed(SourceBadResponse, "sent malformed JSON") from exc


def fhir_resource(peer: Peer, body: bytes, resource_type: str) -> dict[str, Any]:
    """``body`` as a FHIR resource of ``resource_type``, or ``SourceBadResponse``."""
    resource = decode_json(peer, body)
    if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
        raise peer.failed(SourceBadResponse, f"did not answer with a FHIR {resource_type}")
    return resource
