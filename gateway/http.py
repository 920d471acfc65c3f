"""The GraphQL HTTP view: authentication, a context per request, request ids, fast JSON, local
GraphiQL."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gateway.actor import Actor, StatedAccess
from gateway.auth import Authenticator, Unauthenticated, stated_access
from gateway.context import Context
from gateway.errors import BadUserInput, GatewayError
from gateway.graphiql import graphiql_page
from gateway.settings import Settings
from resolvers.examples import EXAMPLE_VARIABLES, SUMMARY_QUERY

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's request id is echoed back and logged, so it must be short and plain.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

log = logging.getLogger("gateway.auth")


def request_id_of(request: Request | WebSocket) -> str:
    """The caller's ``X-Request-ID`` when it is safe to echo, else a fresh one."""
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _SAFE_REQUEST_ID.match(offered) else uuid.uuid4().hex


def _error_response(error: GatewayError, status: int, request_id: str) -> Response:
    headers = {REQUEST_ID_HEADER: request_id}
    if isinstance(error, Unauthenticated):
        # RFC 6750: say what scheme is expected; never echo the token.
        headers["WWW-Authenticate"] = 'Bearer realm="summary-gateway", error="invalid_token"'
    body = {"errors": [{"message": error.message, "extensions": error.extensions}]}
    return JSONResponse(body, status_code=status, headers=headers)


class GatewayGraphQL(GraphQL[Context, None]):
    """strawberry's ASGI view with authentication first, the gateway's context and a
    closed-network GraphiQL. Subscriptions (WebSockets) are off: nothing streams."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            graphql_ide="graphiql" if settings.graphiql else None,
            subscription_protocols=(),
            **kwargs,
        )
        self._settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        if request.method not in ("GET", "POST"):
            await super().__call__(scope, receive, send)
            return
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            # The page holds no data: the browser gets it without a token, then sends one.
            page: Response = (
                await self.render_graphql_ide(request)
                if self.graphql_ide
                else PlainTextResponse("Not Found", status_code=404)
            )
            await page(scope, receive, send)
            return
        request_id = request_id_of(request)
        try:
            authenticator: Authenticator = request.state.authenticator
            actor, claims = await authenticator.authenticate(request.headers.get("Authorization"))
            stated = stated_access(claims, request.headers)
        except Unauthenticated as error:
            log.info("refused a request without a valid token: %s", error.message)
            await _error_response(error, 401, request_id)(scope, receive, send)
            return
        except BadUserInput as error:
            await _error_response(error, 400, request_id)(scope, receive, send)
            return
        # Starlette keeps request.state in the scope, so the Request strawberry builds sees it.
        request.state.actor = actor
        request.state.stated = stated
        request.state.request_id = request_id
        await super().__call__(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        state = request.state
        actor: Actor = state.actor  # set by __call__ above; absent means no context at all
        stated: StatedAccess = state.stated
        if isinstance(response, Response):
            response.headers[REQUEST_ID_HEADER] = state.request_id
        return Context(
            request_id=state.request_id,
            settings=self._settings,
            clients=state.clients,
            actor=actor,
            stated=stated,
            audit_writer=state.audit_writer,
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        page = graphiql_page(
            graphql_path=request.url.path,
            example_query=SUMMARY_QUERY,
            example_variables=EXAMPLE_VARIABLES,
        )
        return HTMLResponse(page)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
