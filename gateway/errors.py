"""The gateway's own errors: every error a client can see has a stable ``extensions.code``.

    GatewayError                      (code: INTERNAL_SERVER_ERROR)
    ├── BadUserInput                  BAD_USER_INPUT       the request itself is wrong
    ├── RequestRefused                BAD_REQUEST          refused before it is a GraphQL request;
    │   │                                                  always a 4xx, whatever the media type
    │   ├── RequestTooLarge           REQUEST_TOO_LARGE    body over graphql.max_body_bytes (413)
    │   ├── CsrfPrevented             CSRF_PREVENTED       a browser could have sent it unasked
    │   ├── MethodNotAllowed          METHOD_NOT_ALLOWED   a mutation over GET (405)
    │   ├── BatchingDisabled          BATCHING_DISABLED    a JSON array while batching is off
    │   └── BatchTooLarge             BATCH_TOO_LARGE      more than graphql.max_batch operations
    ├── ConfigurationError            (never reaches a client: raised at start)
    ├── AccessLogUnavailable          AUDIT_UNAVAILABLE    the access log cannot be written or
    │                                                      read: no patient data goes out
    ├── Unauthenticated               UNAUTHENTICATED      no valid token: 401
    │                                                      (gateway/access/tokens.py)
    ├── AccessDenied                  FORBIDDEN, RESTRICTED, BLOCKED, RESERVED
    │                                                      (gateway/access/policy.py)
    ├── VersionConflict               VERSION_CONFLICT     a write based on an older version of
    │                                                      the entry (the registry's 412/409)
    ├── EntryNotFound                 NOT_FOUND            a write names an entry the patient's
    │                                                      record does not hold
    ├── IdempotencyKeyReused          IDEMPOTENCY_KEY_REUSED  a write's idempotency key already
    │                                                      made another change: nothing written
    ├── CacheInvalidationFailed       CACHE_UNAVAILABLE    a change was saved, but cached copies
    │                                                      of the old record could not be dropped
    └── SourceError                   one upstream registry failed us
        ├── SourceUnavailable         SOURCE_UNAVAILABLE   refused, reset, HTTP 5xx / 429
        │   ├── SourceCircuitOpen     SOURCE_CIRCUIT_OPEN  not asked: its breaker is open
        │   └── SourceBusy            SOURCE_BUSY          not asked: its in-flight cap stayed full
        ├── SourceTimeout             SOURCE_TIMEOUT       no answer within the source's timeout
        │                                                  or the request's deadline
        ├── SourceBadResponse         SOURCE_BAD_RESPONSE  malformed JSON, not FHIR, HTTP 4xx,
        │   │                                              a ``next`` link that fails or leaves
        │   │                                              the source, a shape not understood
        │   ├── SourceWrongPatient    SOURCE_WRONG_PATIENT a resource that is not the patient's
        │   │                                              came back: nothing of it is shown
        │   ├── SourceFilterIgnored   SOURCE_FILTER_IGNORED the registry says (OperationOutcome,
        │   │                                              ``self`` link) it did not apply a
        │   │                                              filter we sent
        │   └── SourceAmbiguousPatient SOURCE_AMBIGUOUS_PATIENT the number matches several
        │                                              unlinked Patients in that registry
        ├── SourceAuthFailed          SOURCE_AUTH_FAILED   no credentials for it: its token
        │                                                  endpoint failed or refused us, or it
        │                                                  answered 401 to a fresh credential
        ├── SourceIncomplete          SOURCE_INCOMPLETE    a search that must be read whole (the
        │                                                  privacy settings) had more pages than
        │                                                  the source's ``whole_read_max_pages``
        └── PrivacySettingsUnknown    PRIVACY_SETTINGS_UNKNOWN an active privacy Consent the
                                                           gateway does not understand (another
                                                           category, a provision it does not
                                                           model): nothing of the patient is shown

GraphQL request errors found before execution (limits, introspection, persisted documents, the
deadline) are not exceptions: they are ``GraphQLError``s with a code, listed in
``gateway/graphql/limits.py``, ``gateway/graphql/introspection.py``,
``gateway/graphql/persisted.py`` and ``gateway/http/view.py``.

Lower-level exceptions of HTTP to a registry or its token endpoint (``aiohttp.ClientError``,
``TimeoutError``, an HTTP error status, ``orjson.JSONDecodeError``) are translated into
``SourceError`` in exactly one place, ``gateway/upstream/http_errors.py``, which every upstream
request (FHIR reads and writes, token requests) goes through. What is left to the callers is what
only they can judge: a FHIR shape not understood (``gateway/upstream/fhir.py``), what a write's
409/412/404 means (``gateway/upstream/fhir_write.py``), a 401 that renews the credential
(``gateway/upstream/credentials.py``), and the request's deadline expiring while it waits for a
flight another request started. graphql-core copies ``extensions`` from the original exception
into the GraphQL error, so raising one of these from a resolver is all a resolver does.

Messages never hold an identity number, a name or any other health datum: they are shown to
clients and written to application logs.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def extensions(self) -> dict[str, Any]:
        """What graphql-core puts in the error's ``extensions``."""
        return {"code": self.code}


class BadUserInput(GatewayError):
    """The request is malformed or names something invalid (for example an identity number)."""

    code = "BAD_USER_INPUT"


class ConfigurationError(GatewayError):
    """The settings cannot work; raised at start so the process never serves with them."""

    code = "CONFIGURATION_ERROR"


class AccessLogUnavailable(GatewayError):
    """The access log could not be written (or read): the request fails closed."""

    code = "AUDIT_UNAVAILABLE"


class VersionConflict(GatewayError):
    """The entry changed since the version the write was based on; nothing was written."""

    code = "VERSION_CONFLICT"


class EntryNotFound(GatewayError):
    """A write names an entry that is not in this patient's record (or not of that kind)."""

    code = "NOT_FOUND"


class IdempotencyKeyReused(GatewayError):
    """The idempotency key of a write already made a different change (its stored fingerprint
    differs): the new change is refused, not silently answered as a replay of the old one."""

    code = "IDEMPOTENCY_KEY_REUSED"


class CacheInvalidationFailed(GatewayError):
    """The change is in the record, but cached copies of the old record could not be dropped."""

    code = "CACHE_UNAVAILABLE"


class SourceError(GatewayError):
    """An upstream registry could not give us what we asked for."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(message)
        self.source = source

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "source": self.source}


class SourceUnavailable(SourceError):
    """The registry refused the connection, reset it, or answered 5xx/429.

    ``retry_after_s`` is the registry's ``Retry-After`` (in seconds) when it sent one.
    """

    code = "SOURCE_UNAVAILABLE"

    def __init__(self, source: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(source, message)
        self.retry_after_s = retry_after_s


class SourceCircuitOpen(SourceUnavailable):
    """The source failed repeatedly; its circuit breaker is open, so it was not asked at all."""

    code = "SOURCE_CIRCUIT_OPEN"


class SourceBusy(SourceUnavailable):
    """The source already had its cap of calls in flight, and no slot freed up in time."""

    code = "SOURCE_BUSY"


class SourceTimeout(SourceError):
    """The registry did not answer within its configured timeout, or the request's deadline."""

    code = "SOURCE_TIMEOUT"


class SourceBadResponse(SourceError):
    """The registry answered, but not with the FHIR we asked for."""

    code = "SOURCE_BAD_RESPONSE"


class SourceWrongPatient(SourceBadResponse):
    """A search returned a resource that does not belong to the patient asked for (its
    subject/patient names another Patient, or none). The whole answer is refused, never cached
    and never shown: a registry that mixed one patient in may have mixed in others."""

    code = "SOURCE_WRONG_PATIENT"


class SourceFilterIgnored(SourceBadResponse):
    """The registry said it did not apply a search parameter we sent (an ``OperationOutcome``
    entry, or a ``self`` link without it): what it answered was not filtered as asked."""

    code = "SOURCE_FILTER_IGNORED"


class SourceAmbiguousPatient(SourceBadResponse):
    """The identity number matches several Patients in the registry that FHIR's ``Patient.link``
    does not tie together: picking one could show another person's record."""

    code = "SOURCE_AMBIGUOUS_PATIENT"


class SourceAuthFailed(SourceError):
    """The gateway could not authenticate to the registry (``gateway/upstream/credentials.py``): the
    token endpoint could not be reached or refused the client, or the registry answered 401
    again after the credential was renewed. Nothing was read; the messages never hold a secret
    nor what the token endpoint sent."""

    code = "SOURCE_AUTH_FAILED"


class SourceIncomplete(SourceError):
    """A search whose every page counts (the patient's privacy settings: a block on the page
    not read is a block ignored) had more pages than the source's cap for such reads. What
    arrived is not used: the answer is unknown, and access fails closed."""

    code = "SOURCE_INCOMPLETE"


class PrivacySettingsUnknown(SourceError):
    """The registry answered, but one of the patient's active privacy Consents is not one the
    gateway understands (a category or policy it does not know, a provision it does not model,
    a block of someone not named by an HPR number). A restriction not understood is not a
    restriction absent: the settings are unknown, and access fails closed, as for any privacy
    read that did not succeed. The registry itself did nothing wrong, so this is not
    SOURCE_BAD_RESPONSE: the record holds a setting the gateway must learn before it can
    show the patient's summary."""

    code = "PRIVACY_SETTINGS_UNKNOWN"


class RequestRefused(GatewayError):
    """Refused at the HTTP layer, before any GraphQL request exists; ``status`` is 4xx."""

    code = "BAD_REQUEST"
    status: ClassVar[int] = 400


class RequestTooLarge(RequestRefused):
    """The body is larger than the configured limit."""

    code = "REQUEST_TOO_LARGE"
    status = 413


class CsrfPrevented(RequestRefused):
    """A request that a page on another site could make a browser send without a preflight."""

    code = "CSRF_PREVENTED"


class MethodNotAllowed(RequestRefused):
    """A mutation (or anything but a query) sent over GET."""

    code = "METHOD_NOT_ALLOWED"
    status = 405


class BatchingDisabled(RequestRefused):
    """A JSON array of requests while batching is off."""

    code = "BATCHING_DISABLED"


class BatchTooLarge(RequestRefused):
    """More operations in one batch than allowed."""

    code = "BATCH_TOO_LARGE"
