"""What every answer of the GraphQL endpoint shares, the view's and its middleware's alike: the
request id, the media type negotiated from ``Accept``, and the body of a refusal.

A refusal (401, CSRF, a body that is not a GraphQL request) is ``{"errors": [...]}`` with one
error and its ``extensions.code``, in the media type the client asked for, with the request id.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import orjson
from starlette.requests import HTTPConnection
from starlette.responses import Response

from gateway.ops.masking import holds_identity_number

REQUEST_ID_HEADER = "X-Request-ID"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
# A caller's request id is echoed back, logged, traced and written to the access log, so it must
# be short and plain, and hold no identity number (``gateway/ops/masking.py``).
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_of(request: HTTPConnection) -> str:
    """The caller's ``X-Request-ID`` when it is safe to echo, else a fresh one (one per request:
    every caller of this function for the same request gets the same id)."""
    cached = request.scope.get("gateway.request_id")
    if isinstance(cached, str):
        return cached
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    safe = _SAFE_REQUEST_ID.fullmatch(offered) and not holds_identity_number(offered)
    request_id = offered if safe else uuid.uuid4().hex
    request.scope["gateway.request_id"] = request_id
    return request_id


def _media_ranges(accept: str | None) -> Iterator[tuple[str, float]]:
    """Each media range of an ``Accept`` header, lowercased, with its quality (``q``)."""
    for media_range in (accept or "").split(","):
        media, _, params = media_range.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        yield media.strip().lower(), quality


def lists_html(accept: str | None) -> bool:
    """Whether ``accept`` names ``text/html`` itself, as a browser's navigation does (``*/*``
    alone is what API clients send, Apollo's included)."""
    return any(media == "text/html" and quality > 0 for media, quality in _media_ranges(accept))


def negotiate(accept: str | None) -> str:
    """``application/graphql-response+json`` if the client prefers it (ties go to it, as the
    spec recommends), else ``application/json``."""
    best = {GRAPHQL_RESPONSE_JSON: 0.0, JSON: 0.0}
    for media, quality in _media_ranges(accept):
        key = GRAPHQL_RESPONSE_JSON if media == GRAPHQL_RESPONSE_JSON else JSON
        if media in (GRAPHQL_RESPONSE_JSON, JSON, "application/*", "*/*"):
            best[key] = max(best[key], quality)
    preferred = best[GRAPHQL_RESPONSE_JSON]
    return GRAPHQL_RESPONSE_JSON if preferred > 0 and preferred >= best[JSON] else JSON


def refusal(request: HTTPConnection, status: int, code: str, message: str) -> Response:
    """A request refused before it is a GraphQL request: one error with its code."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    response = Response(
        orjson.dumps(body),
        status_code=status,
        media_type=negotiate(request.headers.get("accept")),
    )
    response.headers[REQUEST_ID_HEADER] = request_id_of(request)
    return response
