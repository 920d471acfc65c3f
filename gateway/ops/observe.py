"""What each GraphQL request leaves for the operators: one log line, its metrics, its span.

The GraphQL route's outermost middleware (``gateway/http/observed.py``) runs every HTTP request
through ``RequestObserver.around``; the view (``gateway/http/view.py``) notes the operation it
executes (``note_operation``) and its result (``note_result``). At the end, one
``gateway.request`` log line says: request id, operation (as its metrics label), the caller's
organisation, status, outcome, the error codes and the duration. Never the variables, the
document, or anything from the answer.

Outcomes: ``ok`` (data, no error), ``partial`` (data with errors: a source failed or a section
was withheld), ``rejected`` (a request error: parsing, validation, limits, variables),
``deadline``, ``audit_unavailable``, ``unauthenticated`` (401), ``refused`` (another 4xx before
GraphQL: CSRF, size, method, batching), ``page`` (the GraphiQL page), ``error`` (a 5xx).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send
from strawberry.types import ExecutionResult

from gateway.ops.logs import bind_request
from gateway.ops.metrics import DENIAL_CODES, GatewayMetrics, operation_label
from gateway.ops.tracing import Tracing

log = logging.getLogger("gateway.request")

_KEY = "gateway.observation"
App = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(slots=True)
class Observation:
    """One request as it goes."""

    operation: str | None = None
    outcome: str | None = None
    codes: list[str] = field(default_factory=list)


# At the start of a line, so that a comment (``# … query …``) is not taken for an operation.
_FIRST_OPERATION = re.compile(
    r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)", re.MULTILINE
)


def note_operation(scope: Scope, operation_name: str | None, query: str | None) -> None:
    """The operation the request executes: the client's ``operationName``, else the name of the
    document's first operation (a regular expression, not a second parse)."""
    observation: Observation | None = scope.get(_KEY)
    if observation is None:
        return
    if operation_name is None and query is not None:
        found = _FIRST_OPERATION.search(query)
        operation_name = found.group(1) if found else None
    observation.operation = operation_name


def note_result(scope: Scope, result: ExecutionResult) -> None:
    """How the execution went (per request, from its few errors; never per field)."""
    observation: Observation | None = scope.get(_KEY)
    if observation is None:
        return
    errors = result.errors
    if not errors:
        observation.outcome = "ok"
        return
    codes = [_code(error) for error in errors]
    observation.codes = codes
    if result.data is not None:
        observation.outcome = "partial"
    elif "DEADLINE_EXCEEDED" in codes:
        observation.outcome = "deadline"
    elif "AUDIT_UNAVAILABLE" in codes:
        observation.outcome = "audit_unavailable"
    else:
        observation.outcome = "rejected"


def _code(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    return code if isinstance(code, str) else "INTERNAL_SERVER_ERROR"


def _outcome_of_status(status: int) -> str:
    if status == 401:
        return "unauthenticated"
    if status >= 500:
        return "error"
    if status >= 400:
        return "refused"
    return "page"


class RequestObserver:
    """Logs, counts and (when tracing is on) traces each request of one app."""

    def __init__(
        self,
        metrics: GatewayMetrics | None,
        tracing: Tracing | None,
        request_id: Callable[[Request], str],
    ) -> None:
        self._metrics = metrics
        self._tracing = tracing
        self._request_id = request_id

    async def around(self, scope: Scope, receive: Receive, send: Send, app: App) -> None:
        """Run ``app`` for one HTTP request and record how it went."""
        started = time.perf_counter()
        observation = Observation()
        scope[_KEY] = observation
        request = Request(scope)
        request_id = self._request_id(request)
        bind_request(request_id)
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        span_cm: contextlib.AbstractContextManager[Any] = (
            self._tracing.request_span(scope["method"], request.headers)
            if self._tracing is not None
            else contextlib.nullcontext()
        )
        with span_cm as span:
            try:
                await app(scope, receive, send_noting_status)
            finally:
                seconds = time.perf_counter() - started
                outcome = observation.outcome or _outcome_of_status(status)
                if status >= 500 and outcome in ("ok", "page"):
                    outcome = "error"
                label = self._finish(scope, observation, outcome, status, seconds)
                if span is not None:
                    span.update_name(f"graphql {label}")
                    span.set_attribute("graphql.operation.name", label)
                    span.set_attribute("http.response.status_code", status)
                    span.set_attribute("gateway.outcome", outcome)
                    span.set_attribute("gateway.request_id", request_id)

    def _finish(
        self, scope: Scope, observation: Observation, outcome: str, status: int, seconds: float
    ) -> str:
        metrics = self._metrics
        if metrics is not None:
            label = metrics.operation_label(observation.operation)
            metrics.request(observation.operation, outcome, seconds)
            if outcome == "unauthenticated":
                metrics.denied_code("UNAUTHENTICATED")
            for code in observation.codes:
                if code in DENIAL_CODES:
                    metrics.denied_code(code)
        else:
            label = operation_label(observation.operation)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "request",
                extra={
                    "operation": label,
                    "organisation": _organisation(scope),
                    "status": status,
                    "outcome": outcome,
                    "codes": sorted(set(observation.codes)),
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
        return label


def _organisation(scope: Scope) -> str | None:
    """The caller's organisation (its legal entity's number), once authenticated."""
    actor = (scope.get("state") or {}).get("actor")
    legal_entity = getattr(actor, "legal_entity", None)
    return legal_entity if isinstance(legal_entity, str) else None
