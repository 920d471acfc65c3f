"""``Patient/$summary``: the summary as an IPS document, over the FHIR REST API.

``GET /fhir/Patient/$summary?identifier=<system>|<nin>``, or ``POST`` of a ``Parameters``
resource with the same ``identifier`` (a ``valueIdentifier``, or a token in ``valueString``):
the POST keeps the identity number out of URLs, which proxies and browsers write to their logs.

The same rules as GraphQL, through the same code: a bearer token, a purpose of use and an access
basis (headers or claims, ``gateway/access/tokens.py``); the policy's decision, the searches, the
cache and the access log (``resolvers/ips/gather.py``); the events made durable before a byte of the
document leaves. Errors are ``OperationOutcome`` resources carrying the same stable codes as
GraphQL's ``extensions.code``, with the HTTP status FHIR's REST API gives them.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.access.policy import AccessDenied
from gateway.access.tokens import Authenticator, Unauthenticated, stated_access
from gateway.audit.store import AuditUnavailable
from gateway.errors import AccessLogUnavailable, BadUserInput, GatewayError, SourceError
from gateway.graphql.context import Context
from gateway.identity import (
    OID_D_NUMBER,
    OID_FODSELSNUMMER,
    OID_H_NUMBER,
    InvalidIdentityNumber,
    NationalIdentityNumber,
    parse,
)
from gateway.ips.profile import GATEWAY_ERRORS
from gateway.ips.signing import DocumentSigner
from gateway.ops.observe import Observation, RequestObserver
from gateway.settings import Settings

FHIR_JSON = "application/fhir+json"
PATH = "/fhir/Patient/$summary"
OPERATION = "PatientSummary"
"""The operation's name in metrics and logs."""
_SYSTEMS = {OID_FODSELSNUMMER, OID_D_NUMBER, OID_H_NUMBER}
_ACCEPTED = ("application/fhir+json", "application/json", "application/*", "*/*")
_FORMATS = {"json", "application/json", "application/fhir+json"}


log = logging.getLogger("gateway.ips")


@dataclass(frozen=True, slots=True)
class SummaryDocument:
    """A patient's summary as an IPS document Bundle, and whether every section of it is whole
    (for the request's outcome in logs and metrics: ``partial`` otherwise)."""

    bundle: dict[str, Any]
    whole: bool


DocumentMaker = Callable[[Context, NationalIdentityNumber], Awaitable[SummaryDocument | None]]
"""Makes the document for a patient (``resolvers/ips``, given by the app's assembly): None when
the core record knows no such patient; raises a ``GatewayError`` when the policy refuses the
whole patient. It records the request's access-log events; the endpoint makes them durable."""


class Refusal(Exception):
    """A request answered with an OperationOutcome and ``status`` (no document)."""

    def __init__(self, status: int, code: str, message: str, issue_type: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.issue_type = issue_type


def outcome_response(
    status: int, code: str, message: str, issue_type: str, request_id: str | None = None
) -> Response:
    """An ``OperationOutcome`` with one issue: FHIR's issue type, and the gateway's stable code
    in ``details`` (the same code GraphQL puts in ``extensions.code``)."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": issue_type,
                "details": {
                    "coding": [{"system": GATEWAY_ERRORS, "code": code}],
                    "text": message,
                },
            }
        ],
    }
    response = Response(orjson.dumps(body), status_code=status, media_type=FHIR_JSON)
    if request_id is not None:
        response.headers["X-Request-ID"] = request_id
    return response


def _refusal_of(error: GatewayError) -> Refusal:
    """The HTTP status and FHIR issue type of a gateway error that stopped the whole document."""
    if isinstance(error, AccessDenied):
        return Refusal(403, error.code, error.message, "forbidden")
    if isinstance(error, BadUserInput):
        return Refusal(400, error.code, error.message, "invalid")
    if isinstance(error, AccessLogUnavailable):
        return Refusal(503, error.code, error.message, "transient")
    if isinstance(error, SourceError):
        # The patient's privacy settings could not be read: no decision, so no document.
        return Refusal(503, error.code, error.message, "transient")
    return Refusal(500, error.code, error.message, "exception")


def identity_number(token: str) -> NationalIdentityNumber:
    """The patient named by a FHIR token ``[system|]value``: one of the three Norwegian identity
    number systems (or none), and a valid number of the kind that system names."""
    system, bar, value = token.rpartition("|")
    if bar and system not in _SYSTEMS:
        raise BadUserInput(
            "identifier: the system must be urn:oid:2.16.578.1.12.4.1.4.1 (fødselsnummer), "
            "…4.1.4.2 (D-number) or …4.1.4.3 (H-number)"
        )
    try:
        nin = parse(value)
    except InvalidIdentityNumber as exc:
        raise BadUserInput(f"identifier: {exc}") from exc
    if bar and nin.fhir_system != system:
        raise BadUserInput("identifier: the number is not of the kind its system names")
    return nin


def _from_parameters(body: Any) -> str:
    """The ``identifier`` token of a ``Parameters`` resource (POST)."""
    if not isinstance(body, Mapping) or body.get("resourceType") != "Parameters":
        raise BadUserInput("The body must be a FHIR Parameters resource.")
    parameters = body.get("parameter")
    if not isinstance(parameters, list):
        raise BadUserInput("Parameters.parameter must be a list.")
    tokens: list[str] = []
    for parameter in parameters:
        if not isinstance(parameter, Mapping) or parameter.get("name") != "identifier":
            name = parameter.get("name") if isinstance(parameter, Mapping) else None
            raise BadUserInput(f"Unknown parameter {name!r}: only 'identifier' is supported.")
        identifier = parameter.get("valueIdentifier")
        if isinstance(identifier, Mapping):
            system, value = identifier.get("system"), identifier.get("value")
            if not isinstance(value, str) or not isinstance(system, str | None):
                raise BadUserInput("identifier: valueIdentifier needs a string value.")
            tokens.append(f"{system}|{value}" if system else value)
            continue
        text = parameter.get("valueString", parameter.get("valueToken"))
        if not isinstance(text, str):
            raise BadUserInput("identifier: give a valueIdentifier or a valueString token.")
        tokens.append(text)
    if len(tokens) != 1:
        raise BadUserInput("Give exactly one 'identifier'.")
    return tokens[0]


def _from_query(request: Request) -> str:
    """The ``identifier`` token of a GET. Every other parameter is refused: a FHIR server
    that ignores what it does not know lets a client believe it was applied."""
    params = request.query_params
    for name in params:
        if name == "_format" and params[name] in _FORMATS:
            continue
        if name != "identifier":
            raise BadUserInput(f"Unknown parameter {name!r}: only 'identifier' is supported.")
    values = params.getlist("identifier")
    if len(values) != 1:
        raise BadUserInput("Give exactly one 'identifier' (system|number).")
    return values[0]


async def _token(request: Request) -> str:
    if request.method == "GET":
        return _from_query(request)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in ("application/fhir+json", "application/json"):
        raise Refusal(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "Send the Parameters as application/fhir+json.",
            "not-supported",
        )
    if request.query_params:
        raise BadUserInput("With POST, send the parameters in the body only.")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise BadUserInput("The body is not JSON.") from exc
    return _from_parameters(body)


def _accepts_json(accept: str | None) -> bool:
    if not accept:
        return True
    return any(media.split(";", 1)[0].strip().lower() in _ACCEPTED for media in accept.split(","))


class SummaryEndpoint:
    """The ASGI endpoint of ``Patient/$summary``."""

    def __init__(
        self,
        settings: Settings,
        observer: RequestObserver,
        request_id: Callable[[Request], str],
        make_document: DocumentMaker,
        signer: DocumentSigner | None = None,
    ) -> None:
        self._settings = settings
        self._observer = observer
        self._request_id = request_id
        self._make = make_document
        self._signer = signer

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._observer.around(scope, receive, send, self._serve)

    async def _serve(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        observation: Observation | None = scope.get("gateway.observation")
        if observation is not None:
            observation.operation = OPERATION
        request_id = self._request_id(request)
        try:
            response, whole = await self._answer(request, request_id)
            if observation is not None:
                observation.outcome = "ok" if whole else "partial"
        except Unauthenticated as error:
            response = outcome_response(401, error.code, error.message, "login", request_id)
            response.headers["WWW-Authenticate"] = (
                'Bearer realm="summary-gateway", error="invalid_token"'
            )
        except Refusal as refused:
            allow = {"Allow": "GET, POST"} if refused.status == 405 else {}
            if observation is not None:
                observation.codes = [refused.code]
                observation.outcome = (
                    "audit_unavailable"
                    if refused.code == "AUDIT_UNAVAILABLE"
                    else "deadline"
                    if refused.code == "DEADLINE_EXCEEDED"
                    else None
                )
            response = outcome_response(
                refused.status, refused.code, refused.message, refused.issue_type, request_id
            )
            response.headers.update(allow)
        await response(scope, receive, send)

    async def _answer(self, request: Request, request_id: str) -> tuple[Response, bool]:
        """The document's response, and whether every section of it is whole."""
        if request.method not in ("GET", "POST"):
            raise Refusal(405, "METHOD_NOT_ALLOWED", "Use GET or POST.", "not-supported")
        if not _accepts_json(request.headers.get("accept")):
            raise Refusal(
                406,
                "NOT_ACCEPTABLE",
                "The document is available as application/fhir+json.",
                "not-supported",
            )
        authenticator: Authenticator = request.state.authenticator
        actor, claims = await authenticator.authenticate(request.headers.get("Authorization"))
        request.state.actor = actor
        try:
            stated = stated_access(claims, request.headers)
            nin = identity_number(await _token(request))
        except BadUserInput as error:
            raise _refusal_of(error) from error
        ctx = Context(
            request_id=request_id,
            settings=self._settings,
            clients=request.state.clients,
            deadline=Context.upstream_deadline(self._settings.request_deadline_s),
            actor=actor,
            stated=stated,
            audit_writer=request.state.audit_writer,
        )
        deadline = asyncio.timeout(self._settings.request_deadline_s)
        try:
            async with deadline:
                made = await self._document(ctx, nin)
        except TimeoutError as exc:
            if not deadline.expired():
                raise
            log.warning("request %s exceeded its deadline", request_id)
            raise Refusal(
                504,
                "DEADLINE_EXCEEDED",
                f"The document was not ready within {self._settings.request_deadline_s:g} s "
                f"(request id {request_id}).",
                "timeout",
            ) from exc
        finally:
            await ctx.fetches.aclose()
        document = made.bundle
        if self._signer is not None:
            # Signed by the gateway, which the Composition names as its author (a Device).
            author = document["entry"][0]["resource"]["author"][0]
            document = self._signer.sign(document, who=author)
        response = Response(orjson.dumps(document), media_type=FHIR_JSON)
        response.headers["X-Request-ID"] = request_id
        # A patient's summary: never kept by a browser or a shared cache.
        response.headers["Cache-Control"] = "no-store"
        return response, made.whole

    async def _document(self, ctx: Context, nin: NationalIdentityNumber) -> SummaryDocument:
        """The document, with the request's access-log events durable before it is returned;
        the events are written whatever happens (a denial is on record too)."""
        try:
            try:
                made = await self._make(ctx, nin)
            except GatewayError as error:
                raise _refusal_of(error) from error
            except Exception as exc:  # the document could not be made: say so, log no data
                stack = "".join(traceback.format_tb(exc.__traceback__))
                log.error(
                    "unexpected %s making a document (request %s)\n%s",
                    type(exc).__name__,
                    ctx.request_id,
                    stack,
                )
                raise Refusal(
                    500,
                    "INTERNAL_SERVER_ERROR",
                    f"Internal error (request id {ctx.request_id})",
                    "exception",
                ) from exc
            if made is None:
                raise Refusal(
                    404,
                    "NOT_FOUND",
                    "The core record knows no patient with this number.",
                    "not-found",
                )
            return made
        finally:
            await self._commit(ctx)

    @staticmethod
    async def _commit(ctx: Context) -> None:
        trail = ctx.audit
        try:
            await ctx.audit_writer.commit(trail.events, trail.alerts())
        except AuditUnavailable as exc:
            raise Refusal(
                503,
                "AUDIT_UNAVAILABLE",
                "the access log cannot be written right now, so no patient data is returned",
                "transient",
            ) from exc


def summary_route(endpoint: SummaryEndpoint) -> Route:
    # No ``methods``: the endpoint answers every method itself, so that a wrong one gets an
    # OperationOutcome like every other refusal, not starlette's plain-text 405.
    return Route(PATH, endpoint)
