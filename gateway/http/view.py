"""The GraphQL HTTP view: a context per request, fast JSON, local GraphiQL, persisted documents,
the deadline, batching limits, and the GraphQL-over-HTTP rules for media types and status codes.

In front of it, as ASGI middleware on its route (``gateway/app.py``): the request's observation
(``gateway/http/observed.py``), CSRF prevention (``gateway/http/csrf.py``) and authentication
(``gateway/http/authentication.py``). By the time a request reaches the view it was allowed in,
and the view only builds the context from ``request.state``. WebSockets (subscriptions) are off.

Media types: ``Accept: application/graphql-response+json`` gets that type back; anything else
(``application/json``, ``*/*``, none) gets ``application/json``.

Status codes, per the GraphQL-over-HTTP spec:

* ``application/json``: 200 for every well-formed GraphQL request, whatever errors it holds.
* ``application/graphql-response+json``: 200 when the response has a ``data`` entry; 400 for a
  request error (no ``data``: parsing, validation, limits, variables, persisted documents);
  504 for ``DEADLINE_EXCEEDED`` and 503 for ``AUDIT_UNAVAILABLE`` (the gateway, not the
  request, failed).
* Either type: a request that is not a well-formed GraphQL request at all (bad JSON, wrong
  parameter types, CSRF, batching, a body too large) is a 4xx with an ``errors`` body.

A request error has no ``data`` entry at all, as the GraphQL spec asks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, GraphQLRequestProtocol
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from gateway.access.actor import Actor, StatedAccess
from gateway.errors import (
    BadUserInput,
    BatchingDisabled,
    BatchTooLarge,
    MethodNotAllowed,
    RequestRefused,
)
from gateway.graphql.context import Context
from gateway.graphql.persisted import PersistedDocuments, PersistedQueryError
from gateway.http.authentication import is_ide_navigation
from gateway.http.graphiql import graphiql_page
from gateway.http.negotiation import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    REQUEST_ID_HEADER,
    negotiate,
    refusal,
    request_id_of,
)
from gateway.http.security_headers import graphiql_csp
from gateway.ops.observe import note_operation, note_result
from gateway.settings import Settings

_HTTP_CODES = {
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
}

log = logging.getLogger("gateway.http")


class _NoContext:
    """What the GraphiQL page's render gets instead of a context: nothing usable. Any attempt
    to execute with it fails (the schema extensions refuse a non-``Context``)."""


_NO_CONTEXT: Any = _NoContext()


def status_for(body: GraphQLHTTPResponse | list[GraphQLHTTPResponse], media_type: str) -> int:
    """The HTTP status of a GraphQL response body (see the module docstring)."""
    if media_type != GRAPHQL_RESPONSE_JSON or isinstance(body, list) or "data" in body:
        return 200
    codes = {
        error.get("extensions", {}).get("code")
        for error in body.get("errors") or []
        if isinstance(error, dict)
    }
    if "DEADLINE_EXCEEDED" in codes:
        return 504
    # The access log could not be written: the gateway failed, not the request.
    return 503 if "AUDIT_UNAVAILABLE" in codes else 400


def is_request_error(result: ExecutionResult) -> bool:
    """Whether ``result`` failed before execution: no data, and no error has a field path."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


class GatewayGraphQL(GraphQL[Context, None]):
    """strawberry's ASGI view with the gateway's context, closed-network GraphiQL, GraphQL over
    HTTP status codes, persisted documents, batching limits and a deadline.

    strawberry's documented hooks are ``get_context``, ``get_root_value``, ``process_result``,
    ``encode_json``, ``decode_json``, ``render_graphql_ide`` and ``get_sub_response``; each other
    method overridden here says why none of those does its work.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        example_query: str = "",
        example_variables: str = "{}",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            graphql_ide="graphiql" if settings.graphiql else None,
            subscription_protocols=(),
            **kwargs,
        )
        self._settings = settings
        # What GraphiQL opens with (the app's assembly gives the summary query).
        self._example = (example_query, example_variables)
        self._persisted = PersistedDocuments(settings.graphql)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Not a strawberry hook but the ASGI entry itself: strawberry answers the
        # ``HTTPException``s its parsing raises with a plain-text body, and the gateway's own
        # refusals (batching, a mutation over GET) would be a 500. GraphQL over HTTP wants an
        # ``errors`` body with a code, in the negotiated media type, for both.
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except BadUserInput as error:
            response = refusal(request, 400, error.code, error.message)
        except RequestRefused as refused:
            response = refusal(request, refused.status, refused.code, refused.message)
            if isinstance(refused, MethodNotAllowed):
                response.headers["Allow"] = "POST"
        except HTTPException as exc:
            code = _HTTP_CODES.get(exc.status_code, "BAD_REQUEST")
            response = refusal(request, exc.status_code, code, exc.reason)
        await response(scope, receive, send)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """The GraphiQL page answers a browser navigation only
        (``gateway/http/authentication.py``, which lets exactly these through without a token).

        Not one of strawberry's documented hooks, and no option sets the rule: strawberry's own
        renders the page for any GET without ``query`` whose ``Accept`` holds ``*/*``, so
        Apollo's persisted-query GET (``extensions`` only, ``Accept: */*``) would get a page
        instead of its answer."""
        return is_ide_navigation(
            request.method, request.query_params, request.headers.get("accept")
        )

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        request_id = request_id_of(request)
        if isinstance(response, Response):
            response.headers[REQUEST_ID_HEADER] = request_id
        state = request.state
        # The GraphiQL page is rendered after this, with no token: its context is never used,
        # and it gets none (the page's own requests come back through ``Authentication``).
        actor: Actor | None = getattr(state, "actor", None)
        stated: StatedAccess | None = getattr(state, "stated", None)
        if actor is None or stated is None:
            no_context: Context = _NO_CONTEXT
            return no_context
        return Context(
            request_id=request_id,
            settings=self._settings,
            clients=state.clients,
            deadline=Context.upstream_deadline(self._settings.request_deadline_s),
            actor=actor,
            stated=stated,
            audit_writer=state.audit_writer,
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = negotiate(request.headers.get("accept"))
        return sub_response

    # Not a documented hook. The GraphQL-over-HTTP status depends on both the negotiated media
    # type and the result (a request error is 400 only in application/graphql-response+json);
    # ``process_result`` sees the result but not the response, and ``get_sub_response`` runs
    # before there is a result. This is where strawberry builds the response from both.
    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        media_type = sub_response.media_type or JSON
        response = Response(
            self.encode_json(response_data),
            status_code=sub_response.status_code or status_for(response_data, media_type),
            media_type=media_type,
        )
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        return response

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        # Not a documented hook; kept because none sees the body between strawberry's decoding
        # and its use (``decode_json`` must return what strawberry then reads, and refusing
        # there could not tell a batch from a single request), and an ASGI middleware would
        # read and decode every body a second time.
        # strawberry reads the decoded body with ``.get``: a JSON value that is neither an
        # object nor an array (null, a string, a number, true) would fail there as a bare 500.
        # Such a value starts with neither brace; the body is read once and cached.
        if (
            request.method == "POST"
            and JSON in (request.content_type or "")
            and (await request.get_body()).lstrip()[:1] not in (b"{", b"[", b"")
        ):
            raise RequestRefused("The body must be a JSON object (an array for a batch).")
        parsed = await super().parse_http_body(request)
        for item in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(item.operation_name, str | None):
                raise HTTPException(400, "The `operationName` must be a string or null.")
            if not isinstance(item.query, str | None):
                raise HTTPException(400, "Each operation's `query` must be a string or null.")
        return parsed

    def _validate_batch_request(
        self, request_data: list[GraphQLRequestData], protocol: GraphQLRequestProtocol
    ) -> None:
        # Not a documented hook. strawberry's documented batching switch is the schema's
        # ``StrawberryConfig(batching_config={"max_operations": n})``; it is not used because
        # it refuses with a bare ``HTTPException(400, ...)`` whose only difference between "off"
        # and "too many" is the English text (the gateway's clients get BATCHING_DISABLED and
        # BATCH_TOO_LARGE), and it lets an empty batch or an item that is not an object through
        # to strawberry's ``item.get``, a 500. The limits stay ``graphql.batching_enabled`` and
        # ``graphql.max_batch``, read here only.
        graphql = self._settings.graphql
        if not graphql.batching_enabled:
            raise BatchingDisabled("Batched requests (a JSON array) are not accepted here.")
        if not request_data:
            raise RequestRefused("A batch must hold at least one operation.")
        if not all(isinstance(item, dict) for item in request_data):
            raise RequestRefused("Each operation in a batch must be a JSON object.")
        if len(request_data) > graphql.max_batch:
            raise BatchTooLarge(
                f"A batch may hold at most {graphql.max_batch} operations, "
                f"this one has {len(request_data)}."
            )
        if protocol != "http":
            raise RequestRefused("Batches cannot be streamed.")

    # Not a documented hook; kept because it is the one place that runs once per operation, a
    # batch's included, around strawberry's own parsing: the persisted document must replace
    # ``query`` before strawberry parses it (APQ is not something strawberry offers), and the
    # deadline must turn a cancelled execution into a result (DEADLINE_EXCEEDED, its status
    # 504) and stop the searches it started, which a schema extension (a generator around a
    # step, that cannot return a result of its own) cannot do; and strawberry's refusal of a
    # mutation over GET becomes the spec's 405 here, the only place that sees its cause.
    async def execute_single(  # noqa: PLR0917 - strawberry's signature
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            query = self._persisted.resolve(request_data.query, request_data.extensions)
        except PersistedQueryError as error:
            return ExecutionResult(data=None, errors=[error])
        request_data = dataclasses.replace(request_data, query=query)
        note_operation(request.scope, request_data.operation_name, query)
        deadline = asyncio.timeout(self._settings.request_deadline_s)
        try:
            async with deadline:
                return await super().execute_single(
                    request, request_adapter, sub_response, context, root_value, request_data
                )
        except HTTPException as exc:
            if request_adapter.method == "GET" and isinstance(
                exc.__cause__, InvalidOperationTypeError
            ):
                raise MethodNotAllowed("Only queries may be sent over GET; use POST.") from exc
            raise
        except TimeoutError:
            if not deadline.expired():
                raise
            # The execution was cancelled mid-way: stop the upstream searches it started.
            await context.fetches.aclose()
            log.warning("request %s exceeded its deadline", context.request_id)
            message = (
                f"The request did not finish within {self._settings.request_deadline_s:g} s "
                f"(request id {context.request_id})."
            )
            expired = GraphQLError(message, extensions={"code": "DEADLINE_EXCEEDED"})
            return ExecutionResult(data=None, errors=[expired])

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        note_result(request.scope, result)
        response = await super().process_result(request, result)
        if is_request_error(result):
            # The GraphQL spec: an error raised before execution begins leaves out ``data``.
            response.pop("data", None)
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        page = graphiql_page(
            graphql_path=request.url.path,
            example_query=self._example[0],
            example_variables=self._example[1],
        )
        return HTMLResponse(page, headers={"Content-Security-Policy": graphiql_csp(page)})

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        # orjson rejects what the standard library's json rejects, and is several times faster.
        return orjson.loads(data)
