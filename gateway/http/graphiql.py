"""GraphiQL served from vendored assets instead of unpkg.com.

Strawberry's GraphiQL page (``strawberry/static/graphiql.html``) loads React, ReactDOM,
js-cookie, GraphiQL and the explorer plugin from unpkg.com. The gateway runs on a closed
hospital network, so those files are vendored byte-for-byte under ``gateway/static/graphiql/``
(provenance, hashes and licences in ``SOURCES.md`` there) and the page is rewritten to load them
from the gateway itself.

The page is derived from the *installed* strawberry template on first use, and rendering fails
with :class:`RuntimeError` if

* the template references a remote URL that is not one of the vendored files (e.g. a strawberry
  upgrade bumped GraphiQL's version),
* a vendored file's sha384 differs from the template's ``integrity`` attribute for it,
* any ``http://``/``https://`` URL is left in the final page, or
* the template no longer has the shape this module edits.

There is no silent fallback to a CDN. :func:`graphiql_assets_app` runs the same asset checks, so
mounting it, or calling :func:`graphiql_page` once while the app is built, makes a mismatch
stop the app at startup.

Strawberry 0.341.2 serves ``graphiql.html`` verbatim (``strawberry.http.ides.get_graphql_ide_html``
is returned as-is by every integration, so there are no ``{{ ... }}`` template variables to
substitute any more). Any such placeholder found in a future template is reported as an error
instead of being passed to the browser.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import os
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Final

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, PathLike, StaticFiles
from starlette.types import Scope
from strawberry.http.ides import get_graphql_ide_html

__all__ = [
    "ASSETS_DIR",
    "VENDORED_ASSETS",
    "VendoredAsset",
    "graphiql_assets_app",
    "graphiql_page",
    "render_graphiql_html",
]

ASSETS_DIR: Final[Path] = Path(__file__).resolve().parent.parent / "static" / "graphiql" / "assets"
"""Directory with the vendored asset files (only those; ``SOURCES.md`` and licences sit one up)."""


@dataclass(frozen=True, slots=True)
class VendoredAsset:
    """One file that strawberry's template loads from a CDN, and its local copy."""

    url: str
    """The exact URL in strawberry's template."""
    filename: str
    """The file's name in :data:`ASSETS_DIR`."""


VENDORED_ASSETS: Final[tuple[VendoredAsset, ...]] = (
    VendoredAsset(
        "https://unpkg.com/react@18.2.0/umd/react.production.min.js",
        "react.production.min.js",
    ),
    VendoredAsset(
        "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js",
        "react-dom.production.min.js",
    ),
    VendoredAsset(
        "https://unpkg.com/js-cookie@3.0.5/dist/js.cookie.min.js",
        "js.cookie.min.js",
    ),
    VendoredAsset(
        "https://unpkg.com/graphiql@3.8.3/graphiql.min.css",
        "graphiql.min.css",
    ),
    VendoredAsset(
        "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css",
        "plugin-explorer.css",
    ),
    VendoredAsset(
        "https://unpkg.com/graphiql@3.8.3/graphiql.min.js",
        "graphiql.min.js",
    ),
    VendoredAsset(
        "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js",
        "plugin-explorer.umd.js",
    ),
)
"""Every remote file that strawberry's GraphiQL template loads, in template order."""

_ASSETS_BY_URL: Final[dict[str, VendoredAsset]] = {asset.url: asset for asset in VENDORED_ASSETS}
_ASSET_FILENAMES: Final[frozenset[str]] = frozenset(asset.filename for asset in VENDORED_ASSETS)

# Strawberry's template fetches from the page's own URL; this line is replaced to honour
# ``graphql_path``. ``subscriptionUrl`` is derived from ``fetchURL``, so it follows.
_FETCH_URL_LINE: Final = 'const fetchURL = window.location.href.split("?")[0];'
_HEADERS_EDITOR_ON: Final = "isHeadersEditorEnabled: true,"
_HEADERS_EDITOR_OFF: Final = "isHeadersEditorEnabled: false,"
_VARIABLES_TO_URL: Final = "updateURL({ variables: newVariables });"
_QUERY_TO_URL: Final = "updateURL({ q: newQuery });"
_COMPONENT_START: Final = "function GraphiQLWithExplorer() {"
# GraphiQL's ``storage`` prop: a Storage-like object that lives as long as the page does.
_IN_MEMORY_STORAGE: Final = """// Nothing typed here outlives the page (see graphiql.py).
      const inMemoryStorage = (() => {
        const items = new Map();
        return {
          getItem: (key) => (items.has(key) ? items.get(key) : null),
          setItem: (key, value) => {
            items.set(key, String(value));
          },
          removeItem: (key) => {
            items.delete(key);
          },
          clear: () => {
            items.clear();
          },
          get length() {
            return items.size;
          },
        };
      })();

      """
_PERSIST_HEADERS_ON: Final = "shouldPersistHeaders: true,"
_PERSIST_HEADERS_OFF: Final = "shouldPersistHeaders: false,"
_DEFAULT_QUERY: Final = "parameters.q || EXAMPLE_QUERY,"
_DEFAULT_VARIABLES: Final = "parameters.variables,\n"

# The only absolute URL allowed in the final page: the SVG namespace in strawberry's inline
# ``data:image/svg+xml`` favicon. A namespace is an identifier the browser never fetches, and an
# inline SVG image does not render without it. The whole ``xmlns=`` attribute (with the
# favicon's percent-encoded quotes) has to match, so no other URL can slip through this way.
_ALLOWED_URL_CONTEXTS: Final[tuple[str, ...]] = ("xmlns=%22http://www.w3.org/2000/svg%22",)
_ABSOLUTE_URL_RE: Final = re.compile(r"https?://", re.IGNORECASE)
_TEMPLATE_VARIABLE_RE: Final = re.compile(r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}")
_URL_ATTRIBUTES: Final[frozenset[str]] = frozenset({"src", "href"})
# Strongest first: browsers use only the strongest algorithm present in ``integrity``.
_SRI_ALGORITHMS: Final[tuple[str, ...]] = ("sha512", "sha384", "sha256")

_MEDIA_TYPES: Final[dict[str, str]] = {
    ".js": "text/javascript",
    ".css": "text/css",
}
# Unversioned file names: a later upgrade replaces e.g. ``graphiql.min.js`` in place. A long
# ``max-age`` would then keep serving the old cached file, which would fail the new SRI hash and
# break the page. So the browser revalidates every time (cheap 304s via ETag/Last-Modified).
_ASSET_CACHE_CONTROL: Final = "public, no-cache"


class _TagCollector(HTMLParser):
    """Collects the attributes of every start tag in a document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record one start tag and its attributes (valueless attributes become ``""``)."""
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def _start_tags(document: str) -> list[tuple[str, dict[str, str]]]:
    """Return ``(tag, attributes)`` for every start tag in ``document``."""
    collector = _TagCollector()
    collector.feed(document)
    collector.close()
    return collector.tags


def _is_remote(url: str) -> bool:
    """Whether a ``src``/``href`` value would make the browser contact another host."""
    return url.strip().lower().startswith(("http://", "https://", "//", "\\\\", "/\\"))


def _sri_digest(data: bytes, algorithm: str) -> str:
    """The SRI form (``<alg>-<base64 digest>``) of ``data``'s hash."""
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode('ascii')}"


def _verify_integrity(path: Path, integrity: str, url: str) -> None:
    """Raise :class:`RuntimeError` unless ``path``'s content satisfies ``integrity``.

    Follows the SRI rule: only the strongest algorithm listed counts, and any one of its hashes
    may match.
    """
    by_algorithm: dict[str, set[str]] = {}
    for token in integrity.split():
        algorithm, _, _ = token.partition("-")
        by_algorithm.setdefault(algorithm, set()).add(token.split("?", 1)[0])
    strongest = next((alg for alg in _SRI_ALGORITHMS if alg in by_algorithm), None)
    if strongest is None:
        raise RuntimeError(
            f"GraphiQL template: {url} has no usable integrity hash ({integrity!r}); "
            "refusing to serve a vendored copy that cannot be verified."
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RuntimeError(f"GraphiQL vendored asset {path} for {url} is missing: {exc}") from exc
    actual = _sri_digest(data, strongest)
    if actual not in by_algorithm[strongest]:
        raise RuntimeError(
            f"GraphiQL vendored asset {path.name} does not match strawberry's template: "
            f"{url} expects {integrity!r}, the file is {actual!r}. Re-vendor it as described in "
            "gateway/static/graphiql/SOURCES.md."
        )


def _vendored_urls(template: str, assets_dir: Path) -> dict[str, VendoredAsset]:
    """Map each remote ``src``/``href`` in ``template`` to its verified vendored copy.

    Raises :class:`RuntimeError` for an unknown remote URL, a missing ``integrity`` attribute,
    or a hash mismatch.
    """
    found: dict[str, VendoredAsset] = {}
    for tag, attributes in _start_tags(template):
        for name in _URL_ATTRIBUTES & attributes.keys():
            url = attributes[name]
            if not _is_remote(url):
                continue
            asset = _ASSETS_BY_URL.get(url)
            if asset is None:
                raise RuntimeError(
                    f"strawberry's GraphiQL template loads <{tag} {name}={url!r}>, which is not "
                    "vendored (did a strawberry upgrade change versions?). Vendor it as described "
                    "in gateway/static/graphiql/SOURCES.md and add it to VENDORED_ASSETS."
                )
            _verify_integrity(assets_dir / asset.filename, attributes.get("integrity", ""), url)
            found[url] = asset
    return found


def _replace_exactly_once(page: str, old: str, new: str) -> str:
    """Replace the single occurrence of ``old``; raise :class:`RuntimeError` if not exactly one."""
    count = page.count(old)
    if count != 1:
        raise RuntimeError(
            f"strawberry's GraphiQL template changed: expected {old!r} exactly once, found it "
            f"{count} times. Update gateway/http/graphiql.py."
        )
    return page.replace(old, new)


def _check_path(name: str, value: str) -> None:
    """Reject paths that are not same-origin absolute paths (``/x``), or are unsafe to embed."""
    if (
        not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(char.isspace() or char in "\\\"'<>`" or ord(char) < 0x20 for char in value)
    ):
        raise ValueError(
            f"{name} must be a same-origin absolute path like '/graphql', got {value!r}"
        )


def _script_string(value: str) -> str:
    """``value`` as a JavaScript string literal that is safe inside an inline ``<script>``."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")


def _check_final_page(page: str, assets_base: str) -> None:
    """Raise :class:`RuntimeError` if the rendered page could still load anything remotely."""
    scanned = page
    for allowed in _ALLOWED_URL_CONTEXTS:
        scanned = scanned.replace(allowed, "")
    match = _ABSOLUTE_URL_RE.search(scanned)
    if match is not None:
        context = scanned[max(0, match.start() - 60) : match.end() + 60]
        raise RuntimeError(f"GraphiQL page still contains an absolute URL: ...{context!r}...")
    for tag, attributes in _start_tags(page):
        for name in _URL_ATTRIBUTES & attributes.keys():
            url = attributes[name]
            if not (url.startswith(f"{assets_base}/") or url.startswith("data:")):
                raise RuntimeError(
                    f"GraphiQL page has <{tag} {name}={url!r}>, outside {assets_base}/"
                )


def render_graphiql_html(
    template: str,
    *,
    assets_dir: Path,
    graphql_path: str = "/graphql",
    assets_path: str = "/graphiql-assets",
    headers_editor: bool = True,
    example_query: str | None = None,
    example_variables: str | None = None,
) -> str:
    """Rewrite a strawberry GraphiQL template to use vendored assets; no caching.

    :func:`graphiql_page` is this function applied to the installed template and
    :data:`ASSETS_DIR`. It is public so that tests can feed it altered templates or asset
    folders.

    Raises:
        ValueError: ``graphql_path`` or ``assets_path`` is not a same-origin absolute path.
        RuntimeError: the template loads something that is not vendored, a vendored file does
            not match its ``integrity`` hash, the template changed shape, or an absolute URL
            remains.
    """
    _check_path("graphql_path", graphql_path)
    _check_path("assets_path", assets_path)
    assets_base = assets_path.rstrip("/")

    placeholders = sorted(set(_TEMPLATE_VARIABLE_RE.findall(template)))
    if placeholders:
        raise RuntimeError(
            f"strawberry's GraphiQL template has template variables {placeholders}, which "
            "gateway/http/graphiql.py does not substitute. Check how strawberry renders it now."
        )

    page = template
    for url, asset in _vendored_urls(template, assets_dir).items():
        local = html.escape(f"{assets_base}/{asset.filename}", quote=True)
        page = page.replace(f'"{url}"', f'"{local}"')

    page = _replace_exactly_once(
        page,
        _FETCH_URL_LINE,
        f"const fetchURL = new URL({_script_string(graphql_path)}, window.location.href).href;",
    )
    page = _replace_exactly_once(
        page, _HEADERS_EDITOR_ON, _HEADERS_EDITOR_ON if headers_editor else _HEADERS_EDITOR_OFF
    )
    # Variables hold identity numbers, and a query may too (typed as a literal): strawberry's page
    # mirrors both into the address bar, and so into the browser's history on a shared ward
    # computer. Keep them out of the URL.
    page = _replace_exactly_once(page, _VARIABLES_TO_URL, "")
    page = _replace_exactly_once(page, _QUERY_TO_URL, "")
    # GraphiQL keeps its tabs, editors and query history in localStorage by default, which
    # outlives the session on a clinical workstation: keep them in memory instead. Headers (a
    # bearer token, once there is one) are not even kept there.
    page = _replace_exactly_once(page, _COMPONENT_START, _IN_MEMORY_STORAGE + _COMPONENT_START)
    page = _replace_exactly_once(
        page,
        _PERSIST_HEADERS_ON,
        f"{_PERSIST_HEADERS_OFF}\n          storage: inMemoryStorage,",
    )
    if example_query is not None:
        page = _replace_exactly_once(
            page, _DEFAULT_QUERY, f"parameters.q || {_script_string(example_query)},"
        )
    if example_variables is not None:
        page = _replace_exactly_once(
            page,
            _DEFAULT_VARIABLES,
            f"parameters.variables || {_script_string(example_variables)},\n",
        )
    _check_final_page(page, assets_base)
    return page


def _installed_template() -> str:
    """The GraphiQL template of the installed strawberry, read the way strawberry reads it."""
    return get_graphql_ide_html(graphql_ide="graphiql")


@functools.lru_cache(maxsize=1)
def _check_installed_assets() -> None:
    """Verify the installed template against :data:`ASSETS_DIR` once (raises RuntimeError)."""
    _vendored_urls(_installed_template(), ASSETS_DIR)


@functools.lru_cache(maxsize=16)
def _cached_page(
    graphql_path: str,
    assets_path: str,
    headers_editor: bool,
    example_query: str | None,
    example_variables: str | None,
) -> str:
    """Memoised :func:`render_graphiql_html` over the installed template."""
    return render_graphiql_html(
        _installed_template(),
        assets_dir=ASSETS_DIR,
        graphql_path=graphql_path,
        assets_path=assets_path,
        headers_editor=headers_editor,
        example_query=example_query,
        example_variables=example_variables,
    )


def graphiql_page(
    *,
    graphql_path: str = "/graphql",
    assets_path: str = "/graphiql-assets",
    headers_editor: bool = True,
    example_query: str | None = None,
    example_variables: str | None = None,
) -> str:
    """Strawberry's GraphiQL page, loading its assets from ``assets_path`` instead of unpkg.com.

    Args:
        graphql_path: Same-origin path that GraphiQL sends queries to. The websocket URL for
            subscriptions is derived from it, as strawberry derives it from the page URL.
        assets_path: Where :func:`graphiql_assets_app` is mounted.
        headers_editor: Whether GraphiQL shows its request-headers editor.
        example_query: The query the editor opens with (instead of strawberry's comment).
        example_variables: The variables (JSON text) the editor opens with.

    The result is cached per argument combination. Call this once while the app is built so
    that a vendoring problem stops startup instead of the first browser request.

    Raises:
        RuntimeError: see :func:`render_graphiql_html`; the page is never served half-rewritten.
        ValueError: a path argument is not a same-origin absolute path.
    """
    return _cached_page(graphql_path, assets_path, headers_editor, example_query, example_variables)


class _VendoredAssetFiles(StaticFiles):
    """:class:`StaticFiles` that serves only the vendored files, with explicit types and caching."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """Find ``path`` only if it is one of :data:`VENDORED_ASSETS`; otherwise not found."""
        if path not in _ASSET_FILENAMES:
            return "", None
        return super().lookup_path(path)

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """Serve a file with a fixed MIME type (independent of the host's ``mime.types``).

        Adds ``nosniff`` and a revalidating ``Cache-Control``, and still answers conditional
        requests with 304.
        """
        response = FileResponse(
            full_path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=_MEDIA_TYPES.get(Path(full_path).suffix),
            headers={
                "cache-control": _ASSET_CACHE_CONTROL,
                "x-content-type-options": "nosniff",
            },
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


def graphiql_assets_app() -> StaticFiles:
    """An ASGI app serving the vendored GraphiQL files from :data:`ASSETS_DIR`.

    Mount it at the ``assets_path`` given to :func:`graphiql_page`. Only the files listed in
    :data:`VENDORED_ASSETS` are served; anything else is a 404. JavaScript is served as
    ``text/javascript``, CSS as ``text/css``, with ``X-Content-Type-Options: nosniff`` and
    ``Cache-Control: public, no-cache`` (revalidated through ETag/Last-Modified).

    Raises:
        RuntimeError: the vendored files do not match the installed strawberry template, which
            therefore happens when the app is built.
    """
    _check_installed_assets()
    return _VendoredAssetFiles(directory=ASSETS_DIR)
