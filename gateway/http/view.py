"""The GraphQL HTTP view: authentication first, a context per request, request ids, fast JSON,
local GraphiQL, and the GraphQL-over-HTTP rules for media types and status codes.

Authentication: every request that could run an operation needs a valid bearer token
(``gateway/access/tokens.py``); without one the answer is 401 ``UNAUTHENTICATED`` before anything
else happens. Only the GraphiQL page itself, which holds no data, is served without one; it is the
answer to a browser navigation only (GET, an ``Accept`` that lists ``text/html``, no ``query`` or
``extensions``): a GET by hash alone with ``Accept: */*``, as Apollo's persisted-query link sends
it, is a GraphQL request. WebSockets (subscriptions) are off.

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
import re
import uuid
from collections.abc import Iterator
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
from gateway.access.tokens import Authenticator, Unauthenticated, stated_access
from gateway.errors import (
    BadUserInput,
    BatchingDisabled,
    BatchTooLarge,
    MethodNotAllowed,
    RequestRefused,
)
from gateway.graphql.context import Context
from gateway.graphql.persisted import PersistedDocuments, PersistedQueryError
from gateway.http.csrf import check_csrf, runs_an_operation
from gateway.http.graphiql import graphiql_page
from gateway.http.security_headers import graphiql_csp
from gateway.ops.masking import holds_identity_number
from gateway.ops.observe import RequestObserver, note_operation, note_result
from gateway.settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
# A caller's request id is echoed back, logged, traced and written to the access log, so it must
# be short and plain, and hold no identity number (``gateway/ops/masking.py``).
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_HTTP_CODES = {
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
}

log = logging.getLogger("gateway.http")


def request_id_of(request: Request | WebSocket) -> str:
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


class _NoContext:
    """What the GraphiQL page's render gets instead of a context: nothing usable. Any attempt
    to execute with it fails (the schema extensions refuse a non-``Context``)."""


_NO_CONTEXT: Any = _NoContext()


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
    HTTP status codes, CSRF prevention, persisted documents, batching limits and a deadline."""

    def __init__(
        self,
        settings: Settings,
        observer: RequestObserver | None = None,
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
        self._observer = observer or RequestObserver(None, None, request_id_of)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # Logged, counted and traced around everything, refusals included.
            await self._observer.around(scope, receive, send, self._serve)
        else:
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            if request.method in ("GET", "POST") and self.should_render_graphql_ide(
                self.request_adapter_class(request)
            ):
                # The page holds no data: the browser loads it without a token, then sends one.
                response = await self.run(request)
            else:
                if self._settings.graphql.csrf_prevention:
                    check_csrf(request)
                if request.method in ("GET", "POST"):
                    await self._authenticate(request)
                response = await self.run(request)
        except Unauthenticated as error:
            log.info("refused a request without a valid token: %s", error.message)
            response = self._error_response(request, 401, error.code, error.message)
            # RFC 6750: say which scheme is expected; never echo the token.
            response.headers["WWW-Authenticate"] = (
                'Bearer realm="summary-gateway", error="invalid_token"'
            )
        except BadUserInput as error:
            response = self._error_response(request, 400, error.code, error.message)
        except RequestRefused as refused:
            response = self._error_response(request, refused.status, refused.code, refused.message)
            if isinstance(refused, MethodNotAllowed):
                response.headers["Allow"] = "POST"
        except HTTPException as exc:
            code = _HTTP_CODES.get(exc.status_code, "BAD_REQUEST")
            response = self._error_response(request, exc.status_code, code, exc.reason)
        await response(scope, receive, send)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """The GraphiQL page answers a browser navigation only (see the module docstring)."""
        return (
            request.method == "GET"
            and not runs_an_operation(request.method, request.query_params)
            and lists_html(request.headers.get("accept"))
        )

    def _error_response(self, request: Request, status: int, code: str, message: str) -> Response:
        body = {"errors": [{"message": message, "extensions": {"code": code}}]}
        response = Response(
            orjson.dumps(body),
            status_code=status,
            media_type=negotiate(request.headers.get("accept")),
        )
        response.headers[REQUEST_ID_HEADER] = request_id_of(request)
        return response

    async def _authenticate(self, request: Request) -> None:
        """Validate the bearer token and the stated purpose; keep them for ``get_context``."""
        authenticator: Authenticator = request.state.authenticator
        actor, claims = await authenticator.authenticate(request.headers.get("Authorization"))
        # Starlette keeps request.state in the scope, so the Request strawberry builds sees it.
        request.state.actor = actor
        request.state.stated = stated_access(claims, request.headers)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        request_id = request_id_of(request)
        if isinstance(response, Response):
            response.headers[REQUEST_ID_HEADER] = request_id
        state = request.state
        # The GraphiQL page is rendered after this, with no token: its context is never used,
        # and it gets none (the page's own requests come back through ``_authenticate``).
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
        # strawberry's hook for JSON arrays; overridden to refuse with the gateway's codes.
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
