"""GraphQL over HTTP as clients and browsers meet it: media types, status codes, CSRF
prevention, CORS, security headers, batching, the body limit and the request deadline."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from gateway.graphql.persisted import document_hash
from gateway.settings import AuditSettings, GraphQLSettings, Settings
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.examples import summary_query
from tests.conftest import GatewayServer, serve, settings_for

GRAPHQL_RESPONSE = "application/graphql-response+json"
TYPENAME = {"query": "{ __typename }"}
PREFLIGHT = {"apollo-require-preflight": "true"}
ALLOWED_ORIGIN = "https://ehr.example.no"
EXAMPLE_NIN = "12834122055"


async def post(
    server: GatewayServer, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, str, Any]:
    """POST JSON; return status, content type and the decoded body."""
    async with server.session.post(f"{server.url}/graphql", json=body, headers=headers) as response:
        return response.status, response.content_type, await response.json(content_type=None)


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body["errors"]]


# --- media types and status codes ------------------------------------------------------------


async def test_the_response_media_type_follows_the_accept_header(gateway: GatewayServer) -> None:
    assert (await post(gateway, TYPENAME, {"Accept": GRAPHQL_RESPONSE}))[:2] == (
        200,
        GRAPHQL_RESPONSE,
    )
    assert (await post(gateway, TYPENAME, {"Accept": "application/json"}))[:2] == (
        200,
        "application/json",
    )
    assert (await post(gateway, TYPENAME, {"Accept": "*/*"}))[1] == "application/json"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{", "GRAPHQL_PARSE_FAILED"),
        ("{ nosuchfield }", "GRAPHQL_VALIDATION_FAILED"),
    ],
)
async def test_a_request_error_is_400_without_data_for_graphql_response_json(
    gateway: GatewayServer, query: str, code: str
) -> None:
    status, _, body = await post(gateway, {"query": query}, {"Accept": GRAPHQL_RESPONSE})
    assert status == 400
    assert "data" not in body
    assert codes(body) == [code]
    # application/json keeps 200 for the same request, as the spec says.
    status, _, body = await post(gateway, {"query": query}, {"Accept": "application/json"})
    assert status == 200
    assert codes(body) == [code]


async def test_an_invalid_identity_number_in_variables_is_a_400_request_error(
    gateway: GatewayServer,
) -> None:
    query = "query($nin: NationalIdentityNumber!) { patient(nin: $nin) { nin } }"
    status, _, body = await post(
        gateway, {"query": query, "variables": {"nin": "1"}}, {"Accept": GRAPHQL_RESPONSE}
    )
    assert status == 400
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_a_missing_variable_is_a_400_request_error_not_an_internal_one(
    gateway: GatewayServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The summary by hash without its variables, as a client that forgot them sends it.
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(summary_query())}}
    known = {"query": summary_query(), "variables": {"nin": EXAMPLE_NIN}, "extensions": persisted}
    assert (await post(gateway, known))[0] == 200
    with caplog.at_level(logging.INFO):
        status, media_type, body = await post(
            gateway, {"extensions": persisted}, {"Accept": GRAPHQL_RESPONSE}
        )
    assert (status, media_type) == (400, GRAPHQL_RESPONSE)
    assert "data" not in body
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["message"] == (
        "Variable '$nin' has invalid value: Expected a value of non-null type "
        "'NationalIdentityNumber!' to be provided."
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    status, _, body = await post(
        gateway, {"query": summary_query(), "variables": {"nin": int(EXAMPLE_NIN)}}
    )
    assert status == 200, "application/json keeps 200"
    assert codes(body) == ["BAD_USER_INPUT"]
    assert EXAMPLE_NIN not in str(body)


async def test_malformed_json_is_400_with_a_code(gateway: GatewayServer) -> None:
    async with gateway.session.post(
        f"{gateway.url}/graphql",
        data=b'{"query": ',
        headers={"Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
        assert codes(await response.json()) == ["BAD_REQUEST"]


@pytest.mark.parametrize("body", [b"null", b' "x"', b"123", b"true", b"", b"  "])
@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE])
async def test_a_json_body_that_is_not_an_object_is_400_with_a_code(
    gateway: GatewayServer, body: bytes, accept: str
) -> None:
    async with gateway.session.post(
        f"{gateway.url}/graphql",
        data=body,
        headers={"Content-Type": "application/json", "Accept": accept},
    ) as response:
        assert response.status == 400
        assert response.content_type == accept
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Request-ID"]
        assert codes(await response.json(content_type=None)) == ["BAD_REQUEST"]


@pytest.mark.parametrize("item", [None, "x", 123, True, [TYPENAME]])
async def test_a_batch_item_that_is_not_an_object_is_400_with_a_code(
    tight: GatewayServer, item: Any
) -> None:
    status, _, body = await post(tight, [TYPENAME, item])
    assert status == 400
    assert codes(body) == ["BAD_REQUEST"]


# --- CSRF prevention -------------------------------------------------------------------------


async def test_a_get_query_without_a_preflight_header_is_refused(gateway: GatewayServer) -> None:
    async with gateway.session.get(
        f"{gateway.url}/graphql", params={"query": "{ __typename }"}
    ) as response:
        assert response.status == 400
        assert codes(await response.json()) == ["CSRF_PREVENTED"]


async def test_a_get_query_with_a_preflight_header_runs(gateway: GatewayServer) -> None:
    for header in ("apollo-require-preflight", "x-apollo-operation-name"):
        async with gateway.session.get(
            f"{gateway.url}/graphql",
            params={"query": "{ __typename }"},
            headers={header: "yes"},
        ) as response:
            assert response.status == 200
            assert await response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_a_post_a_browser_sends_without_preflight_is_refused(
    gateway: GatewayServer, content_type: str
) -> None:
    async with gateway.session.post(
        f"{gateway.url}/graphql",
        data=b'{"query": "{ __typename }"}',
        headers={"Content-Type": content_type},
    ) as response:
        assert response.status == 400
        assert codes(await response.json()) == ["CSRF_PREVENTED"]


async def test_a_mutation_over_get_is_405_even_with_the_preflight_header(
    gateway: GatewayServer,
) -> None:
    async with gateway.session.get(
        f"{gateway.url}/graphql",
        params={"query": "mutation { __typename }"},
        headers={**PREFLIGHT, "Accept": GRAPHQL_RESPONSE},
    ) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "POST"
        assert codes(await response.json()) == ["METHOD_NOT_ALLOWED"]


async def test_the_graphiql_page_needs_no_preflight_header(gateway: GatewayServer) -> None:
    async with gateway.session.get(
        f"{gateway.url}/graphql", headers={"Accept": "text/html"}
    ) as response:
        assert response.status == 200
        assert response.content_type == "text/html"


# --- security headers ------------------------------------------------------------------------


async def test_the_graphiql_page_allows_only_its_own_assets(gateway: GatewayServer) -> None:
    async with gateway.session.get(
        f"{gateway.url}/graphql", headers={"Accept": "text/html"}
    ) as response:
        csp = response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["connect-src"] == "'self'"
    for name in ("script-src", "style-src"):
        sources = directives[name].split()
        assert sources[0] == "'self'"
        # The page's inline code is allowed by hash only: no 'unsafe-inline', no other host.
        assert all(source.startswith("'sha256-") for source in sources[1:]), sources


async def test_api_answers_forbid_framing_and_sniffing(gateway: GatewayServer) -> None:
    async with gateway.session.post(f"{gateway.url}/graphql", json=TYPENAME) as response:
        assert response.headers["Content-Security-Policy"] == (
            "default-src 'none'; frame-ancestors 'none'"
        )
        assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- batching, body size, CORS and the deadline (a gateway with tight settings) -------------


@pytest.fixture(scope="module")
async def tight_settings(shared_registries: MockRegistries) -> Settings:
    # Upstream timeouts well above the deadline, so it is the deadline that fires.
    base = settings_for(shared_registries, timeout_s=5.0, connect_timeout_s=5.0)
    graphql = GraphQLSettings(
        batching_enabled=True,
        max_batch=2,
        max_body_bytes=1024,
        cors_allow_origins=(ALLOWED_ORIGIN,),
    )
    # An access log of its own, which a test can stall (its writes wait up to 5 s for a lock).
    audit = AuditSettings(sqlite_file=f"audit-{uuid.uuid4().hex}.sqlite3", write_timeout_s=5.0)
    return base.model_copy(update={"graphql": graphql, "request_deadline_s": 1.0, "audit": audit})


@contextlib.contextmanager
def audit_stalled(settings: Settings) -> Iterator[None]:
    """Another connection holds the access log's write lock: commits wait (past the deadline)."""
    blocker = sqlite3.connect(settings.data_dir / settings.audit.sqlite_file, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


@pytest.fixture(scope="module")
async def tight_gateway(tight_settings: Settings) -> AsyncIterator[GatewayServer]:
    async with serve(tight_settings) as server:
        yield server


@pytest.fixture
def tight(tight_gateway: GatewayServer, registries: MockRegistries) -> GatewayServer:
    return tight_gateway


async def test_batching_is_off_by_default(gateway: GatewayServer) -> None:
    status, _, body = await post(gateway, [TYPENAME])
    assert status == 400
    assert codes(body) == ["BATCHING_DISABLED"]


async def test_a_batch_at_the_cap_runs_and_one_beyond_is_refused(tight: GatewayServer) -> None:
    status, _, body = await post(tight, [TYPENAME, TYPENAME])
    assert status == 200
    assert body == [{"data": {"__typename": "Query"}}] * 2
    status, _, body = await post(tight, [TYPENAME] * 3)
    assert status == 400
    assert codes(body) == ["BATCH_TOO_LARGE"]


def _body_of_size(size: int) -> bytes:
    template = '{"query": "{ __typename }", "variables": {"pad": "%s"}}'
    body = (template % ("x" * (size - len(template) + 2))).encode()
    assert len(body) == size
    return body


async def test_a_body_at_the_limit_passes_and_one_byte_more_is_413(tight: GatewayServer) -> None:
    headers = {"Content-Type": "application/json"}
    async with tight.session.post(
        f"{tight.url}/graphql", data=_body_of_size(1024), headers=headers
    ) as response:
        assert response.status == 200
    async with tight.session.post(
        f"{tight.url}/graphql", data=_body_of_size(1025), headers=headers
    ) as response:
        assert response.status == 413
        assert codes(await response.json()) == ["REQUEST_TOO_LARGE"]


async def test_a_chunked_body_over_the_limit_is_413(tight: GatewayServer) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b" " * 400
        yield b'{"query": "{ __typename }"}'

    async with tight.session.post(
        f"{tight.url}/graphql", data=chunks(), headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 413
        assert codes(await response.json()) == ["REQUEST_TOO_LARGE"]


async def test_cors_answers_only_allowed_origins(tight: GatewayServer) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization",
    }
    async with tight.session.options(
        f"{tight.url}/graphql", headers={"Origin": ALLOWED_ORIGIN, **preflight}
    ) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    async with tight.session.options(
        f"{tight.url}/graphql", headers={"Origin": "https://evil.example", **preflight}
    ) as response:
        assert response.status == 400
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_cors_allows_the_trace_and_client_awareness_headers_clients_send(
    tight: GatewayServer,
) -> None:
    # W3C trace context (the gateway continues a caller's trace) and Apollo's clientAwareness.
    sent = "content-type, authorization, traceparent, tracestate, "
    sent += "apollographql-client-name, apollographql-client-version"
    async with tight.session.options(
        f"{tight.url}/graphql",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": sent,
        },
    ) as response:
        assert response.status == 200, await response.text()
        allowed = response.headers["Access-Control-Allow-Headers"].lower().split(", ")
    assert set(sent.split(", ")) <= set(allowed)


async def test_a_slow_registry_is_given_up_before_the_request_deadline(
    tight: GatewayServer, registries: MockRegistries
) -> None:
    query = (
        "query($nin: NationalIdentityNumber!) "
        "{ patient(nin: $nin) { medications { status prescriptions { id } } } }"
    )
    request = {"query": query, "variables": {"nin": EXAMPLE_NIN}}
    registries.set_latency(Source.PRESCRIPTIONS, 3000)
    status, _, body = await post(tight, request, {"Accept": GRAPHQL_RESPONSE})
    # The upstream calls' deadline comes a little before the request's: the answer still comes,
    # with the slow section unavailable, instead of DEADLINE_EXCEEDED and nothing (an answer
    # after the request's deadline would be DEADLINE_EXCEEDED, so no stopwatch is needed).
    assert status == 200
    assert body["data"]["patient"]["medications"]["status"] == "UNAVAILABLE"
    assert codes(body) == ["SOURCE_TIMEOUT"]


async def test_a_request_over_its_deadline_gets_deadline_exceeded(
    tight: GatewayServer, tight_settings: Settings, registries: MockRegistries
) -> None:
    query = "query($nin: NationalIdentityNumber!) { patient(nin: $nin) { medications { status } } }"
    request = {"query": query, "variables": {"nin": EXAMPLE_NIN}}
    status, _, body = await post(tight, request, {"Accept": GRAPHQL_RESPONSE})
    assert status == 200
    assert body["data"]["patient"]["medications"]["status"] == "COMPLETE"

    with audit_stalled(tight_settings):
        # The access log never answers: only the request's deadline can end the request.
        status, _, body = await post(tight, request, {"Accept": GRAPHQL_RESPONSE})
        assert status == 504
        assert "data" not in body
        assert codes(body) == ["DEADLINE_EXCEEDED"]
        status, _, body = await post(tight, request, {"Accept": "application/json"})
        assert status == 200
        assert codes(body) == ["DEADLINE_EXCEEDED"]


async def test_identity_numbers_in_get_urls_never_reach_the_logs(
    tight: GatewayServer,
    tight_settings: Settings,
    registries: MockRegistries,
    caplog: pytest.LogCaptureFixture,
) -> None:
    query = f'{{ patient(nin: "{EXAMPLE_NIN}") {{ medications {{ status }} }} }}'
    with caplog.at_level(logging.DEBUG), audit_stalled(tight_settings):
        for headers in ({}, PREFLIGHT):  # refused by CSRF prevention, then over the deadline
            async with tight.session.get(
                f"{tight.url}/graphql", params={"query": query}, headers=headers
            ) as response:
                assert response.status in {200, 400}
    assert "exceeded its deadline" in caplog.text, "the deadline was logged, so logs were captured"
    assert EXAMPLE_NIN not in caplog.text
