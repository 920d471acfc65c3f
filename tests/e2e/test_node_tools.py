"""Stock JavaScript tooling against the real gateway: the GraphQL-over-HTTP audit suite, the
client libraries frontend teams use (graphql-request, Apollo Client 3), and GraphiQL in a real
browser."""

from __future__ import annotations

import re

import pytest
from aiohttp import web

from gateway.settings import GraphQLSettings
from mocks.faults import Fault, FaultKind
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.examples import SUMMARY_QUERY_FILE
from tests.conftest import (
    GatewayServer,
    bearer,
    serve,
    served,
    settings_for,
)
from tests.e2e.node_tools import chromium_executable, last_json_line, run_node

EXAMPLE_NIN = "12834122055"
LOOPBACK = re.compile(r"^http://127\.0\.0\.1:\d+/")


async def test_the_graphql_http_audit_suite_passes_all_61_audits(
    gateway: GatewayServer, auth_headers: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = await run_node("audit.mjs", f"{gateway.url}/graphql", auth_headers=auth_headers)
    summary = output.strip().splitlines()[-1]
    with capsys.disabled():
        # The suite's own verdict, shown in every run's output (CI's log included).
        print(f"\naudit: {summary}")
    assert summary == "61 passed, 0 failed", output
    assert code == 0


async def test_a_graphql_client_library_gets_a_summary_and_typed_errors(
    gateway: GatewayServer, auth_headers: dict[str, str]
) -> None:
    code, output = await run_node(
        "client.mjs",
        "summary",
        f"{gateway.url}/graphql",
        EXAMPLE_NIN,
        auth_headers=auth_headers,
    )
    assert code == 0, output
    result = last_json_line(output)
    patient = result["summary"]["patient"]
    assert patient["nin"] == EXAMPLE_NIN
    assert patient["medications"]["status"] == "COMPLETE"
    assert len(patient["medications"]["prescriptions"]) > 0
    # graphql-request asks for application/graphql-response+json: a variable that fails
    # coercion is a request error, so 400, with the gateway's code and no number in the message.
    assert result["badInput"]["status"] == 400
    assert result["badInput"]["codes"] == ["BAD_USER_INPUT"]
    assert "12345678901" not in " ".join(result["badInput"]["messages"])


async def test_graphql_request_throws_on_a_failed_section_unless_error_policy_is_all(
    gateway: GatewayServer, auth_headers: dict[str, str], registries: MockRegistries
) -> None:
    await registries.set_fault(Source.PRESCRIPTIONS, Fault(FaultKind.HTTP_500))
    code, output = await run_node(
        "client.mjs", "partial", f"{gateway.url}/graphql", EXAMPLE_NIN, auth_headers=auth_headers
    )
    assert code == 0, output
    result = last_json_line(output)
    # By default a ClientError, though the answer is a 200 with the other sections' data in it.
    thrown = result["thrown"]
    assert thrown["status"] == 200
    assert "SOURCE_UNAVAILABLE" in thrown["codes"]
    assert thrown["data"]["patient"]["nin"] == EXAMPLE_NIN
    # errorPolicy 'all' (rawRequest): data and errors side by side.
    assert result["all"]["medications"]["status"] == "UNAVAILABLE"
    assert {"code": "SOURCE_UNAVAILABLE", "path": ["patient", "medications", "prescriptions"]} in (
        result["all"]["errors"]
    )


async def test_graphql_request_reports_a_missing_token_as_a_401_client_error(
    gateway: GatewayServer,
) -> None:
    code, output = await run_node(
        "client.mjs", "unauthenticated", f"{gateway.url}/graphql", EXAMPLE_NIN, auth_headers={}
    )
    assert code == 0, output
    thrown = last_json_line(output)["thrown"]
    assert thrown["status"] == 401
    assert thrown["codes"] == ["UNAUTHENTICATED"]


async def test_graphql_request_over_get_needs_the_preflight_header(
    gateway: GatewayServer, auth_headers: dict[str, str]
) -> None:
    code, output = await run_node(
        "client.mjs", "get", f"{gateway.url}/graphql", EXAMPLE_NIN, auth_headers=auth_headers
    )
    assert code == 0, output
    result = last_json_line(output)
    assert result["plain"]["thrown"]["status"] == 400
    assert result["plain"]["thrown"]["codes"] == ["CSRF_PREVENTED"]
    assert result["preflighted"]["result"]["patient"]["nin"] == EXAMPLE_NIN


async def test_graphiql_runs_a_query_in_a_browser_that_never_leaves_loopback(
    gateway: GatewayServer, auth_headers: dict[str, str]
) -> None:
    chromium = chromium_executable()
    code, output = await run_node(
        "graphiql.mjs", f"{gateway.url}/graphql", chromium, auth_headers=auth_headers
    )
    assert code == 0, output
    result = last_json_line(output)
    assert result["problems"] == []
    assert result["found"] is True
    assert any(url.endswith("/graphiql-assets/graphiql.min.js") for url in result["requested"])
    outside = [url for url in result["requested"] if not LOOPBACK.match(url)]
    assert outside == []


async def test_graphiql_keeps_no_identity_number_typed_into_a_query(
    gateway: GatewayServer, auth_headers: dict[str, str]
) -> None:
    chromium = chromium_executable()
    code, output = await run_node(
        "graphiql-storage.mjs",
        f"{gateway.url}/graphql",
        EXAMPLE_NIN,
        chromium,
        auth_headers=auth_headers,
    )
    assert code == 0, output
    result = last_json_line(output)
    assert result["problems"] == [], "\n".join(result["problems"])
    assert result["answered"] is True
    leaks = []
    for moment in ("afterRun", "afterReload"):
        seen = result[moment]
        if EXAMPLE_NIN in seen["location"]:
            leaks.append(f"{moment}: the address")
        leaks += [
            f"{moment}: {key}" for key, value in seen["stored"].items() if EXAMPLE_NIN in value
        ]
    assert leaks == [], leaks
    # A reload opens the example query (the number as a variable), not what was typed.
    assert EXAMPLE_NIN not in result["afterReload"]["editor"]


# --- Apollo Client 3 ------------------------------------------------------------------------


async def test_apollo_sends_automatic_persisted_queries_by_hash_over_get(
    gateway: GatewayServer, auth_headers: dict[str, str]
) -> None:
    code, output = await run_node(
        "apollo.mjs", "persisted", f"{gateway.url}/graphql", EXAMPLE_NIN, auth_headers=auth_headers
    )
    assert code == 0, output
    result = last_json_line(output)
    assert result["first"]["nin"] == result["second"]["nin"] == EXAMPLE_NIN
    assert result["second"]["medications"]["status"] == "COMPLETE"
    exchanges = [(e["method"], e["queryInUrl"], e["queryInBody"]) for e in result["exchanges"]]
    # The hash alone over GET (unknown), the text once by POST, then the hash alone again.
    assert exchanges == [("GET", False, False), ("POST", False, True), ("GET", False, False)]
    assert all(e["contentType"] == "application/json" for e in result["exchanges"])


async def test_apollo_runs_a_trusted_document_by_hash_over_get_in_production(
    production: GatewayServer,
) -> None:
    code, output = await run_node(
        "apollo.mjs",
        "trusted",
        f"{production.url}/graphql",
        EXAMPLE_NIN,
        str(SUMMARY_QUERY_FILE),
        auth_headers=bearer(),
    )
    assert code == 0, output
    result = last_json_line(output)
    assert result["patient"]["nin"] == EXAMPLE_NIN
    assert [(e["method"], e["status"]) for e in result["exchanges"]] == [("GET", 200)]
    assert result["exchanges"][0]["queryInUrl"] is False


async def test_apollo_needs_error_policy_all_to_see_the_sections_that_answered(
    gateway: GatewayServer, auth_headers: dict[str, str], registries: MockRegistries
) -> None:
    await registries.set_fault(Source.PRESCRIPTIONS, Fault(FaultKind.HTTP_500))
    code, output = await run_node(
        "apollo.mjs", "partial", f"{gateway.url}/graphql", EXAMPLE_NIN, auth_headers=auth_headers
    )
    assert code == 0, output
    result = last_json_line(output)
    # The default errorPolicy ('none') throws the whole answer away.
    assert result["thrown"]["name"] == "ApolloError"
    assert "SOURCE_UNAVAILABLE" in result["thrown"]["graphQLErrorCodes"]
    # errorPolicy 'all': the data that came back, and the errors where the section failed.
    partial = result["all"]
    assert partial["nin"] == EXAMPLE_NIN
    assert partial["medications"]["status"] == "UNAVAILABLE"
    assert partial["medications"]["prescriptions"] is None
    assert {"code": "SOURCE_UNAVAILABLE", "path": ["patient", "medications", "prescriptions"]} in (
        partial["errors"]
    )


async def test_apollo_reports_a_missing_token_as_a_401_network_error(
    gateway: GatewayServer,
) -> None:
    code, output = await run_node(
        "apollo.mjs", "unauthenticated", f"{gateway.url}/graphql", EXAMPLE_NIN, auth_headers={}
    )
    assert code == 0, output
    thrown = last_json_line(output)["thrown"]
    assert thrown["networkStatus"] == 401
    assert thrown["networkCodes"] == ["UNAUTHENTICATED"]
    assert thrown["graphQLErrorCodes"] == []


# --- a browser app on another origin ------------------------------------------------------------

EHR_APP_PAGE = "<!doctype html><title>EHR</title><p>An EHR front end on its own origin.</p>"


async def test_a_browser_app_on_an_allowed_origin_may_send_trace_and_client_headers(
    registries: MockRegistries, auth_headers: dict[str, str]
) -> None:
    chromium = chromium_executable()

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=EHR_APP_PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    # The app's own server: another port of loopback is another origin.
    async with served(app) as app_url:
        base = settings_for(registries)
        graphql = GraphQLSettings(cors_allow_origins=(app_url,))
        async with serve(base.model_copy(update={"graphql": graphql})) as gateway:
            code, output = await run_node(
                "cors.mjs",
                f"{app_url}/",
                f"{gateway.url}/graphql",
                EXAMPLE_NIN,
                chromium,
                auth_headers=auth_headers,
            )
    assert code == 0, output
    result = last_json_line(output)
    assert result["origin"] == app_url
    for name in ("post", "hashed"):
        answer = result["results"][name]
        assert answer.get("error") is None, (name, answer)
        assert answer["status"] == 200
        assert answer["body"] == {"data": {"patient": {"nin": EXAMPLE_NIN}}}
    # The browser did go cross-origin: both requests went to the gateway's own port.
    assert sum(1 for line in result["requests"] if "/graphql" in line) == 2
