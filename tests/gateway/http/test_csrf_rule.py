"""CSRF prevention (``gateway/http/csrf.py``) on its own, on real Starlette requests: which
requests a browser could send without a preflight, and so are refused."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from gateway.errors import CsrfPrevented
from gateway.http.csrf import (
    PREFLIGHT_HEADERS,
    SIMPLE_CONTENT_TYPES,
    check_csrf,
    runs_an_operation,
)


def _request(method: str, query: str = "", headers: dict[str, str] | None = None) -> Request:
    scope = {
        "type": "http",
        "method": method,
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    return Request(scope)


def test_the_simple_content_types_are_the_three_a_form_can_send() -> None:
    expected = {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
    assert set(SIMPLE_CONTENT_TYPES) == expected


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "TEXT/PLAIN",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=----x",
        " Multipart/Form-Data ",
    ],
)
def test_a_post_with_a_simple_content_type_is_refused(content_type: str) -> None:
    with pytest.raises(CsrfPrevented) as raised:
        check_csrf(_request("POST", headers={"Content-Type": content_type}))
    assert raised.value.code == "CSRF_PREVENTED"


def test_a_post_without_a_content_type_is_refused() -> None:
    with pytest.raises(CsrfPrevented):
        check_csrf(_request("POST"))


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/graphql-response+json"],
)
def test_a_post_with_a_content_type_a_browser_preflights_passes(content_type: str) -> None:
    check_csrf(_request("POST", headers={"Content-Type": content_type}))


@pytest.mark.parametrize("header", PREFLIGHT_HEADERS)
@pytest.mark.parametrize("value", ["true", "", "anything"])
def test_a_preflight_header_with_any_value_lets_a_simple_request_through(
    header: str, value: str
) -> None:
    check_csrf(_request("POST", headers={"Content-Type": "text/plain", header: value}))
    check_csrf(_request("GET", "query=%7B__typename%7D", headers={header: value}))


def test_the_preflight_headers_are_apollos() -> None:
    assert set(PREFLIGHT_HEADERS) == {"apollo-require-preflight", "x-apollo-operation-name"}


@pytest.mark.parametrize("query", ["query=%7B__typename%7D", "extensions=%7B%7D", "query=&x=1"])
def test_a_get_that_runs_an_operation_needs_a_preflight_header(query: str) -> None:
    with pytest.raises(CsrfPrevented):
        check_csrf(_request("GET", query))


def test_a_get_with_a_json_content_type_counts_as_preflighted() -> None:
    # Apollo Client sends it even on GET; a browser would preflight it.
    check_csrf(_request("GET", "query=%7B__typename%7D", {"Content-Type": "application/json"}))


@pytest.mark.parametrize("query", ["", "variables=%7B%7D", "operationName=Summary"])
def test_a_get_without_query_or_extensions_runs_nothing_and_is_not_checked(query: str) -> None:
    assert not runs_an_operation("GET", _request("GET", query).query_params)
    check_csrf(_request("GET", query, headers={"Accept": "text/html"}))


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_every_method_but_get_could_run_an_operation(method: str) -> None:
    assert runs_an_operation(method, {})
