"""A bounded fuzz run of the schema: schemathesis (GraphQL mode) generates queries from
``schema.graphql``; every answer must be a well-formed GraphQL response without a 5xx, and every
error must carry one of the gateway's codes and a message that is not a leak."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation.case import Case
from schemathesis.graphql import nodes

from resolvers.examples import SUMMARY_QUERY_FILE
from tests.conftest import GatewayServer, bearer

SCHEMA_FILE = SUMMARY_QUERY_FILE.parents[1] / "schema.graphql"
EXAMPLES = 150
# Synthetic (Tenor) numbers the mocks know, and arbitrary strings that mostly fail the checks.
KNOWN_NINS = ["12834122055", "15828512339", "01819042000", "24881755544", "55827010056"]
KNOWN_CODES = {
    "BAD_USER_INPUT",
    "GRAPHQL_VALIDATION_FAILED",
    "GRAPHQL_PARSE_FAILED",
    "QUERY_TOO_DEEP",
    "TOO_MANY_ALIASES",
    "TOO_MANY_TOKENS",
    "QUERY_TOO_COSTLY",
    "SOURCE_UNAVAILABLE",
    "SOURCE_TIMEOUT",
    "SOURCE_BAD_RESPONSE",
    "INTERNAL_SERVER_ERROR",
    # The access policy's denials (a GP may not read access logs or alerts; reserved, blocked
    # and restricted fixture patients).
    "FORBIDDEN",
    "RESTRICTED",
    "BLOCKED",
    "RESERVED",
}
MASKED = re.compile(r"^Internal error \(request id [0-9a-f]{32}\)$")

schemathesis.graphql.scalar(
    "NationalIdentityNumber",
    st.one_of(st.sampled_from(KNOWN_NINS), st.text(max_size=12)).map(nodes.String),
)


def generated_queries() -> list[str]:
    """``EXAMPLES`` queries over every root field, drawn once (generation only, no shrinking:
    the test sends them itself, on the test's event loop)."""
    queries: list[str] = []
    schema = schemathesis.graphql.from_path(SCHEMA_FILE)
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err would be a broken schema

        @settings(
            max_examples=EXAMPLES,
            database=None,
            deadline=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy())
        def collect(case: Case[Any]) -> None:
            assert isinstance(case.body, str)
            queries.append(case.body)

        collect()
    return queries


def problems_in(status: int, body: dict[str, Any]) -> list[str]:
    problems = []
    if status >= 500:
        problems.append(f"HTTP {status}")
    if "data" not in body and "errors" not in body:
        problems.append("neither data nor errors")
    for error in body.get("errors", []):
        code = (error.get("extensions") or {}).get("code")
        if code not in KNOWN_CODES:
            problems.append(f"unknown code {code!r}: {error.get('message')}")
        if code == "INTERNAL_SERVER_ERROR" and not MASKED.match(error["message"]):
            problems.append(f"unmasked internal error: {error['message']}")
        if "Traceback" in error["message"] or "Error(" in error["message"]:
            problems.append(f"leaky message: {error['message']}")
    return problems


async def test_fuzzed_queries_get_no_5xx_and_no_unmasked_error(gateway: GatewayServer) -> None:
    queries = generated_queries()
    assert len(queries) >= 100
    failures: dict[str, list[str]] = {}
    # A session of its own: generating the queries takes longer than the server keeps an idle
    # connection, and a POST on a connection the server is closing is reset, not retried.
    async with aiohttp.ClientSession(headers=bearer()) as session:
        for query in queries:
            async with session.post(f"{gateway.url}/graphql", json={"query": query}) as response:
                problems = problems_in(response.status, await response.json(content_type=None))
            if problems:
                failures[query] = problems
    assert failures == {}
