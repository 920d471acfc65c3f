"""Response headers that tell browsers what this origin's pages and answers may do.

Every response gets ``nosniff``, ``Referrer-Policy: no-referrer`` (a GET URL can hold an identity
number) and a CSP that allows nothing and no framing. The GraphiQL page gets its own CSP:
scripts, styles, fetches and images from the gateway itself only, plus the page's inline script
and style by their SHA-256 hashes, so no injected inline code can run.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'"
BASELINE_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
_INLINE = re.compile(r"<(script|style)(?![^>]*\bsrc=)[^>]*>(.*?)</\1>", re.DOTALL | re.IGNORECASE)


def _sha256_source(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


@functools.lru_cache(maxsize=16)
def graphiql_csp(page: str) -> str:
    """The Content-Security-Policy for ``page``: its own origin, and its inline code by hash."""
    scripts = [_sha256_source(m.group(2)) for m in _INLINE.finditer(page) if m.group(1) == "script"]
    styles = [_sha256_source(m.group(2)) for m in _INLINE.finditer(page) if m.group(1) == "style"]
    return "; ".join(
        [
            "default-src 'none'",
            " ".join(["script-src 'self'", *scripts]),
            " ".join(["style-src 'self'", *styles]),
            "connect-src 'self'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """ASGI middleware adding :data:`BASELINE_HEADERS`, and :data:`API_CSP` unless the response
    brought its own policy (the GraphiQL page)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in BASELINE_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("content-security-policy", API_CSP)
            await send(message)

        await self.app(scope, receive, with_headers)
