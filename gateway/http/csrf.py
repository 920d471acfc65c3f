"""CSRF prevention, as Apollo Server's ``csrfPrevention`` does it.

A page on another site can make a browser send a "simple" request (GET, or POST with a
``text/plain``, form or multipart body) to the gateway without asking it first, and the browser
attaches whatever ambient credentials it holds. CORS only hides the *answer* from that page; the
request has already run. So a request that would run an operation must prove it is not simple: a
``Content-Type`` other than the three simple ones (``application/json`` is not simple), or one of
:data:`PREFLIGHT_HEADERS` (any value). Either makes a browser send a CORS preflight first, which
the allow-list (``graphql.cors_allow_origins``) then answers.

``GET /graphql`` without ``query`` or ``extensions`` runs nothing (a browser's navigation gets the
GraphiQL page, anything else a "no query" error) and is not checked.

:class:`CsrfPrevention` is the ASGI middleware that applies the check in front of the GraphQL
view (with ``graphql.csrf_prevention``, the default): a refused request is a 400
``CSRF_PREVENTED`` and never reaches authentication or the view.
"""

from __future__ import annotations

from collections.abc import Container

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import CsrfPrevented
from gateway.http.negotiation import refusal

PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")
SIMPLE_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)


def runs_an_operation(method: str, query_params: Container[str]) -> bool:
    """Whether a request could execute GraphQL: every POST, and a GET with ``query`` or
    ``extensions`` (a persisted document's hash) in its URL."""
    if method != "GET":
        return True
    return "query" in query_params or "extensions" in query_params


def check_csrf(request: Request) -> None:
    """Raise :class:`CsrfPrevented` unless a browser would have preflighted ``request``."""
    if not runs_an_operation(request.method, request.query_params):
        return
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type and content_type not in SIMPLE_CONTENT_TYPES:
        return
    if any(name in request.headers for name in PREFLIGHT_HEADERS):
        return
    raise CsrfPrevented(
        "This request could have been sent by a browser without a CORS preflight. Send "
        "'Content-Type: application/json' (POST) or an 'apollo-require-preflight: true' header."
    )


class CsrfPrevention:
    """Refuse a request a browser could have sent unasked (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            try:
                check_csrf(request)
            except CsrfPrevented as refused:
                response = refusal(request, refused.status, refused.code, refused.message)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
