"""The GraphQL HTTP view: a context per request, request ids, fast JSON, local GraphiQL."""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gateway.context import Context
from gateway.graphiql import graphiql_page
from gateway.settings import Settings
from resolvers.examples import EXAMPLE_VARIABLES, SUMMARY_QUERY

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's request id is echoed back and logged, so it must be short and plain.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_of(request: Request | WebSocket) -> str:
    """The caller's ``X-Request-ID`` when it is safe to echo, else a fresh one."""
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _SAFE_REQUEST_ID.match(offered) else uuid.uuid4().hex


class GatewayGraphQL(GraphQL[Context, None]):
    """strawberry's ASGI view with the gateway's context and a closed-network GraphiQL."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(graphql_ide="graphiql" if settings.graphiql else None, **kwargs)
        self._settings = settings

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        request_id = request_id_of(request)
        if isinstance(response, Response):
            response.headers[REQUEST_ID_HEADER] = request_id
        return Context(
            request_id=request_id,
            settings=self._settings,
            clients=request.state.clients,
            deadline=Context.deadline_in(self._settings.request_deadline_s),
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
