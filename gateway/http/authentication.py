"""Authentication of the GraphQL endpoint, as ASGI middleware in front of the view.

Every request that could run an operation needs a valid bearer token
(``gateway/access/tokens.py``) and a stated purpose; without them the answer is 401
``UNAUTHENTICATED`` (with ``WWW-Authenticate``, RFC 6750), and a purpose or basis header not
understood is a 400 ``BAD_USER_INPUT``; either way the view is never called. What was
established is left in ``request.state`` (``actor``, ``stated``), from which the view builds the
request's context.

Only the GraphiQL page itself, which holds no data, is served without a token; it is the answer
to a browser navigation only (GET, an ``Accept`` that lists ``text/html``, no ``query`` or
``extensions``): a GET by hash alone with ``Accept: */*``, as Apollo's persisted-query link sends
it, is a GraphQL request. Methods other than GET and POST run nothing and are the router's to
refuse. The IPS route (``gateway/ips/route.py``) authenticates itself: its refusals are FHIR
``OperationOutcome``s, not GraphQL errors.
"""

from __future__ import annotations

import logging
from collections.abc import Container

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.access.tokens import Authenticator, Unauthenticated, stated_access
from gateway.errors import BadUserInput
from gateway.http.csrf import runs_an_operation
from gateway.http.negotiation import lists_html, refusal

log = logging.getLogger("gateway.http")

# RFC 6750: say which scheme is expected; never echo the token.
WWW_AUTHENTICATE = 'Bearer realm="summary-gateway", error="invalid_token"'


def is_ide_navigation(method: str, query_params: Container[str], accept: str | None) -> bool:
    """Whether a request is a browser asking for the GraphiQL page (see the module docstring)."""
    return method == "GET" and not runs_an_operation(method, query_params) and lists_html(accept)


class Authentication:
    """Refuse, with 401, a GraphQL request without a valid token; else note who sent it.

    The authenticator is the lifespan's (``request.state.authenticator``): it holds the issuer's
    keys and an HTTP session, which live as long as the app.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if request.method in ("GET", "POST") and not is_ide_navigation(
            request.method, request.query_params, request.headers.get("accept")
        ):
            try:
                await _authenticate(request)
            except Unauthenticated as error:
                log.info("refused a request without a valid token: %s", error.message)
                response = refusal(request, 401, error.code, error.message)
                response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
                await response(scope, receive, send)
                return
            except BadUserInput as error:
                # A valid token with a purpose or basis header the gateway does not know.
                await refusal(request, 400, error.code, error.message)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _authenticate(request: Request) -> None:
    """Validate the bearer token and the stated purpose; keep them for the view's context."""
    authenticator: Authenticator = request.state.authenticator
    actor, claims = await authenticator.authenticate(request.headers.get("Authorization"))
    # Starlette keeps request.state in the scope, so the Request the view builds sees it.
    request.state.actor = actor
    request.state.stated = stated_access(claims, request.headers)
