"""GraphiQL must work on a closed network: no CDN URL in the page, assets served by the gateway."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from strawberry.http.ides import get_graphql_ide_html

from gateway.http.graphiql import (
    ASSETS_DIR,
    VENDORED_ASSETS,
    graphiql_assets_app,
    graphiql_page,
    render_graphiql_html,
)

ASSETS_PATH = "/graphiql-assets"
STATIC_DIR = ASSETS_DIR.parent
EXPECTED_FILES = {
    "react.production.min.js",
    "react-dom.production.min.js",
    "js.cookie.min.js",
    "graphiql.min.js",
    "graphiql.min.css",
    "plugin-explorer.umd.js",
    "plugin-explorer.css",
}
JS_TYPES = {"text/javascript", "application/javascript"}

# The one URL allowed in the page is the SVG namespace in strawberry's inline favicon
# (``<link rel="icon" href="data:image/svg+xml,<svg xmlns=%22http://www.w3.org/2000/svg%22 ...">``).
# An XML namespace is only an identifier: the browser never requests it. A data: SVG image does
# not render without it. The test requires exactly this string, in exactly that xmlns position
# inside the data: URI, so no other URL can be allowed by mistake.
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
URL_RE = re.compile(r"https?://[^\s\"'<>%)]*", re.IGNORECASE)


class _Tags(HTMLParser):
    """Collects ``(tag, attributes)`` for every start tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record a start tag."""
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def start_tags(document: str) -> list[tuple[str, dict[str, str]]]:
    """Every start tag in ``document`` with its attributes."""
    parser = _Tags()
    parser.feed(document)
    parser.close()
    return parser.tags


def url_attributes(document: str) -> list[tuple[str, str, dict[str, str]]]:
    """``(attribute name, value, all attributes)`` for every ``src``/``href`` in ``document``."""
    return [
        (name, attrs[name], attrs)
        for _tag, attrs in start_tags(document)
        for name in ("src", "href")
        if name in attrs
    ]


def sri_sha384(data: bytes) -> str:
    """``sha384-<base64>`` as used in ``integrity`` attributes."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


@pytest.fixture(scope="module")
def page() -> str:
    """The page as the gateway serves it."""
    return graphiql_page(assets_path=ASSETS_PATH)


# --- (a) no URL the browser could fetch from another host -----------------------------------


def test_page_contains_no_absolute_url_except_the_favicon_svg_namespace(page: str) -> None:
    matches = list(URL_RE.finditer(page))
    assert [m.group() for m in matches] == [SVG_NAMESPACE]
    (match,) = matches
    assert page[match.start() - len("xmlns=%22") : match.end() + len("%22")] == (
        f"xmlns=%22{SVG_NAMESPACE}%22"
    )
    icons = [a for _t, a in start_tags(page) if a.get("rel") == "icon"]
    assert len(icons) == 1
    assert icons[0]["href"].startswith("data:image/svg+xml,")
    assert SVG_NAMESPACE in icons[0]["href"]
    assert "unpkg" not in page.lower()


def test_no_protocol_relative_or_remote_src_href(page: str) -> None:
    for name, value, _attrs in url_attributes(page):
        assert not value.startswith(("//", "/\\", "http:", "https:")), (name, value)


# --- (b) every src/href is a vendored file under the assets path ----------------------------


def test_every_src_and_href_points_at_an_existing_vendored_file(page: str) -> None:
    referenced: list[str] = []
    for name, value, attrs in url_attributes(page):
        if value.startswith("data:"):
            assert attrs.get("rel") == "icon", (name, value)
            continue
        assert value.startswith(f"{ASSETS_PATH}/"), (name, value)
        filename = value.removeprefix(f"{ASSETS_PATH}/")
        assert "/" not in filename
        assert (ASSETS_DIR / filename).is_file(), value
        referenced.append(filename)
    assert sorted(referenced) == sorted(EXPECTED_FILES)
    assert {a.filename for a in VENDORED_ASSETS} == EXPECTED_FILES


def test_assets_dir_holds_only_the_vendored_files() -> None:
    assert {p.name for p in ASSETS_DIR.iterdir()} == EXPECTED_FILES


def test_page_is_strawberrys_template_with_only_the_intended_edits(page: str) -> None:
    restored = page
    for asset in VENDORED_ASSETS:
        restored = restored.replace(f'"{ASSETS_PATH}/{asset.filename}"', f'"{asset.url}"')
    restored = restored.replace(
        'const fetchURL = new URL("/graphql", window.location.href).href;',
        'const fetchURL = window.location.href.split("?")[0];',
    )
    restored = restored.replace(
        "shouldPersistHeaders: false,\n          storage: inMemoryStorage,",
        "shouldPersistHeaders: true,",
    )
    start, end = (
        restored.index("// Nothing typed here"),
        restored.index("function GraphiQLWithExplorer"),
    )
    restored = restored[:start] + restored[end:]
    original = get_graphql_ide_html("graphiql")
    # The lines removed: neither variables nor the query are mirrored into the URL.
    for line in ("updateURL({ variables: newVariables });", "updateURL({ q: newQuery });"):
        original = original.replace(line, "")
    assert restored == original


def test_neither_query_nor_variables_reach_the_url_and_nothing_reaches_local_storage(
    page: str,
) -> None:
    # Both may hold identity numbers; the URL ends up in the browser's history.
    assert "updateURL({" not in page
    # GraphiQL keeps tabs and history in the storage it is given: memory only.
    assert "storage: inMemoryStorage," in page
    assert "localStorage" not in page
    # Headers will hold bearer tokens: not even kept in memory storage.
    assert "shouldPersistHeaders: false," in page
    assert "shouldPersistHeaders: true," not in page


def test_example_query_and_variables_are_the_editors_defaults() -> None:
    custom = graphiql_page(
        example_query="query Q($nin: String) { patient(nin: $nin) { nin } } # </script>",
        example_variables='{"nin": "12834122055"}',
    )
    assert 'parameters.q || "query Q($nin: String)' in custom
    assert "\\u003c/script\\u003e" in custom, "a closing script tag cannot end the script early"
    assert 'parameters.variables || "{\\"nin\\": \\"12834122055\\"}",' in custom


# --- (c) SRI hashes --------------------------------------------------------------------------


def test_each_vendored_file_matches_the_integrity_attribute_in_the_page(page: str) -> None:
    checked = set()
    for _name, value, attrs in url_attributes(page):
        if value.startswith("data:"):
            continue
        filename = value.removeprefix(f"{ASSETS_PATH}/")
        assert attrs["integrity"] == sri_sha384((ASSETS_DIR / filename).read_bytes()), filename
        assert "crossorigin" in attrs
        checked.add(filename)
    assert checked == EXPECTED_FILES


def test_page_keeps_strawberrys_original_integrity_values(page: str) -> None:
    original = {
        attrs.get("src") or attrs.get("href"): attrs["integrity"]
        for _tag, attrs in start_tags(get_graphql_ide_html("graphiql"))
        if "integrity" in attrs
    }
    for asset in VENDORED_ASSETS:
        assert original[asset.url] == sri_sha384((ASSETS_DIR / asset.filename).read_bytes())
        assert f'src="{ASSETS_PATH}/{asset.filename}"' in page or (
            f'href="{ASSETS_PATH}/{asset.filename}"' in page
        )


def test_sources_md_records_every_hash_and_licences_exist() -> None:
    sources = (STATIC_DIR / "SOURCES.md").read_text(encoding="utf-8")
    for asset in VENDORED_ASSETS:
        assert asset.url in sources
        assert asset.filename in sources
        assert sri_sha384((ASSETS_DIR / asset.filename).read_bytes()) in sources
    for name in ("react", "react-dom", "js-cookie", "graphiql", "graphiql-plugin-explorer"):
        assert "MIT License" in (STATIC_DIR / "licenses" / f"{name}.txt").read_text("utf-8")


# --- options and caching ---------------------------------------------------------------------


def test_options_change_fetch_url_assets_path_and_headers_editor() -> None:
    custom = graphiql_page(
        graphql_path="/api/graphql", assets_path="/static/gq/", headers_editor=False
    )
    assert 'new URL("/api/graphql", window.location.href).href' in custom
    assert "isHeadersEditorEnabled: false," in custom
    assert "isHeadersEditorEnabled: true," not in custom
    assert 'src="/static/gq/graphiql.min.js"' in custom
    assert "window.location.href.split" not in custom


def test_page_is_cached() -> None:
    assert graphiql_page() is graphiql_page()
    assert graphiql_page(headers_editor=False) is not graphiql_page()


@pytest.mark.parametrize(
    "bad",
    [
        "graphql",
        "//cdn.example.org/x",
        "https://cdn.example.org",
        "/\\evil",
        '/a"b',
        "/a b",
        "/g</script><script>alert(1)//",
    ],
)
def test_non_local_or_unsafe_paths_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        graphiql_page(assets_path=bad)
    with pytest.raises(ValueError):
        graphiql_page(graphql_path=bad)


# --- fails loudly when strawberry's template and the vendored files disagree -----------------


def _render(template: str, assets_dir: Path = ASSETS_DIR) -> str:
    return render_graphiql_html(template, assets_dir=assets_dir, assets_path=ASSETS_PATH)


def test_upgraded_asset_version_is_an_error() -> None:
    template = get_graphql_ide_html("graphiql").replace("graphiql@3.8.3", "graphiql@3.9.0")
    with pytest.raises(RuntimeError, match=r"graphiql@3\.9\.0.*not vendored"):
        _render(template)


def test_extra_remote_script_is_an_error() -> None:
    template = get_graphql_ide_html("graphiql").replace(
        "</head>", '<script src="https://cdn.example.org/extra.js"></script></head>'
    )
    with pytest.raises(RuntimeError, match="not vendored"):
        _render(template)


def test_tampered_vendored_file_is_an_error(tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, assets)
    target = assets / "plugin-explorer.css"
    target.write_bytes(target.read_bytes() + b"\n")
    with pytest.raises(RuntimeError, match=r"plugin-explorer\.css does not match"):
        _render(get_graphql_ide_html("graphiql"), assets)


def test_missing_vendored_file_is_an_error(tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, assets)
    (assets / "react.production.min.js").unlink()
    with pytest.raises(RuntimeError, match="missing"):
        _render(get_graphql_ide_html("graphiql"), assets)


def test_changed_integrity_is_an_error() -> None:
    template = get_graphql_ide_html("graphiql").replace(
        "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
        "sha384-" + "A" * 64,
    )
    with pytest.raises(RuntimeError, match="does not match"):
        _render(template)


def test_missing_integrity_is_an_error() -> None:
    template = re.sub(r'integrity="sha384-[^"]*"', "", get_graphql_ide_html("graphiql"), count=1)
    with pytest.raises(RuntimeError, match="no usable integrity"):
        _render(template)


def test_url_left_in_inline_script_is_an_error() -> None:
    template = get_graphql_ide_html("graphiql").replace(
        "const EXAMPLE_QUERY", 'fetch("https://tracker.example.org/");\n      const EXAMPLE_QUERY'
    )
    with pytest.raises(RuntimeError, match="absolute URL"):
        _render(template)


def test_unsubstituted_template_variable_is_an_error() -> None:
    template = get_graphql_ide_html("graphiql").replace(
        "const EXAMPLE_QUERY", "const SUB = {{ SUBSCRIPTION_ENABLED }};\n      const EXAMPLE_QUERY"
    )
    with pytest.raises(RuntimeError, match="SUBSCRIPTION_ENABLED"):
        _render(template)


def test_changed_template_shape_is_an_error() -> None:
    template = get_graphql_ide_html("graphiql").replace("const fetchURL =", "const fetchUrl =")
    with pytest.raises(RuntimeError, match="template changed"):
        _render(template)


# --- (d) served over real HTTP ---------------------------------------------------------------


async def _graphql_get(request: Request) -> HTMLResponse:
    return HTMLResponse(graphiql_page(assets_path=ASSETS_PATH))


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A real uvicorn server (httpx, hence TestClient, is not installed) on an ephemeral port."""
    app = Starlette(
        routes=[
            Route("/graphql", _graphql_get, methods=["GET"]),
            Mount(ASSETS_PATH, app=graphiql_assets_app()),
        ]
    )
    config = uvicorn.Config(
        app, lifespan="off", ws="none", http="h11", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "uvicorn exited during startup"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` without any proxy; return status, lower-cased headers and body."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=10) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def test_page_is_served_as_html(base_url: str) -> None:
    status, headers, body = fetch(f"{base_url}/graphql", {"Accept": "text/html"})
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert body.decode("utf-8") == graphiql_page(assets_path=ASSETS_PATH)


def test_every_asset_referenced_by_the_page_is_served_intact(base_url: str, page: str) -> None:
    served = set()
    for name, value, attrs in url_attributes(page):
        if value.startswith("data:"):
            continue
        status, headers, body = fetch(base_url + value)
        assert status == 200, value
        media_type = headers["content-type"].split(";")[0].strip()
        if name == "src":
            assert media_type in JS_TYPES, (value, media_type)
        else:
            assert attrs.get("rel") == "stylesheet"
            assert media_type == "text/css", (value, media_type)
        assert headers["x-content-type-options"] == "nosniff"
        assert "no-cache" in headers["cache-control"]
        assert sri_sha384(body) == attrs["integrity"], value
        served.add(value)
    assert len(served) == len(EXPECTED_FILES)


def test_assets_revalidate_with_304(base_url: str) -> None:
    url = f"{base_url}{ASSETS_PATH}/graphiql.min.css"
    status, headers, _ = fetch(url)
    assert status == 200
    status, _, body = fetch(url, {"If-None-Match": headers["etag"]})
    assert (status, body) == (304, b"")


@pytest.mark.parametrize(
    "path", ["SOURCES.md", "licenses/react.txt", "../SOURCES.md", "", "nope.js"]
)
def test_only_vendored_files_are_served(base_url: str, path: str) -> None:
    status, _, _ = fetch(f"{base_url}{ASSETS_PATH}/{path}")
    assert status == 404
