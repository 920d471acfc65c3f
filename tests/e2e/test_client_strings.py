"""Every string a client chooses (operation and variable names, aliases, request id, trace
context, client-awareness headers, user agent, persisted-query hash, token) may hold an identity
number; none reaches the log, ``/metrics`` or the spans as sent."""

from __future__ import annotations

import io
from typing import Any

import pytest

from gateway.settings import OperationsSettings
from mocks.fixtures import FIXTURES
from mocks.runner import MockRegistries
from tests.conftest import GatewayServer, bearer, serve, settings_for

NIN = FIXTURES[0].nin
NAME = f"nin_{NIN}"
# The number in every place a client may put it: names, an alias (followed by a digit, so the
# run is 12 digits long), a variable.
QUERY = (
    f"query {NAME}(${NAME}: NationalIdentityNumber!) "
    f"{{ n{NIN}0: patient(nin: ${NAME}) {{ medications {{ status }} visits {{ status }} }} }}"
)
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
HEADERS = {
    "X-Request-ID": NIN,
    "traceparent": f"00-{NIN}{'0' * 20}1-00f067aa0ba902b7-01",
    "tracestate": f"vendor={NIN}",
    "apollographql-client-name": f"app-{NIN}",
    "apollographql-client-version": NIN,
    "x-apollo-operation-name": NAME,
    "User-Agent": f"agent/{NIN}",
}


async def _post(server: GatewayServer, body: dict[str, Any], headers: dict[str, str]) -> str:
    """POST ``body``; return the request id the gateway answered with."""
    async with server.anonymous.post(
        f"{server.url}/graphql", json=body, headers=headers
    ) as response:
        await response.read()
        return response.headers["X-Request-ID"]


async def test_an_identity_number_in_any_client_chosen_string_is_not_logged_counted_or_traced(
    registries: MockRegistries,
    json_log: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = settings_for(registries).model_copy(
        update={"ops": OperationsSettings(tracing="console")}
    )
    variables = {NAME: NIN}
    answered: list[str] = []
    async with serve(settings) as server:
        for persona in ("home-care-gp", "pharmacist"):  # granted; a section withheld
            headers = {**HEADERS, **bearer(persona)}
            named = {"query": QUERY, "variables": variables, "operationName": NAME}
            answered.append(await _post(server, named, headers))
            answered.append(await _post(server, {"query": QUERY, "variables": variables}, headers))
        # A trace the gateway continues, with the number in its vendor state only.
        continued = {"traceparent": f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"}
        answered.append(
            await _post(
                server,
                {"query": QUERY, "variables": variables},
                {**HEADERS, **continued, **bearer()},
            )
        )
        # A request id of a safe shape, but with the number inside.
        answered.append(
            await _post(
                server,
                {"query": QUERY, "variables": variables},
                {**bearer(), "X-Request-ID": f"req-{NIN}"},
            )
        )
        # A persisted-query hash that holds the number.
        persisted = {
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": NIN * 5 + "0" * 9}}
        }
        answered.append(
            await _post(server, {**persisted, "operationName": NAME}, {**HEADERS, **bearer()})
        )
        # No token, or the number as the token.
        for token in ({}, {"Authorization": f"Bearer {NIN}"}):
            named = {"query": QUERY, "variables": variables, "operationName": NAME}
            answered.append(await _post(server, named, {**HEADERS, **token}))
        # GET, the name in the query string.
        async with server.anonymous.get(
            f"{server.url}/graphql",
            params={"query": QUERY, "variables": f'{{"{NAME}": "{NIN}"}}', "operationName": NAME},
            headers={**HEADERS, **bearer(), "apollo-require-preflight": "true"},
        ) as response:
            await response.read()
            answered.append(response.headers["X-Request-ID"])
        async with server.anonymous.get(f"{server.url}/metrics") as response:
            metrics = await response.text()

    spans = capsys.readouterr().out
    logged = json_log.getvalue()
    assert logged.count('"logger":"gateway.request"') == len(answered), logged
    assert '"name": "graphql other"' in spans
    assert f'"trace_id": "0x{CALLER_TRACE}"' in spans, "a clean trace context is continued"
    assert 'gateway_requests_total{operation="other"' in metrics
    assert NIN not in "".join(answered), "a request id holding the number is replaced"
    assert NIN not in logged
    assert NIN not in metrics
    assert NIN not in spans
