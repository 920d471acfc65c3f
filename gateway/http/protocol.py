"""The HTTP protocol every gateway process serves with: uvicorn's httptools protocol with a
bound on request headers (``gateway/http/header_limit.py``) and a drain on SIGTERM that answers the
requests still arriving on open connections (``gateway/http/drain.py``). Each part overrides
different uvicorn hooks and calls ``super()`` where both touch one (``on_headers_complete``),
so they compose in either order."""

from __future__ import annotations

from gateway.http.drain import DrainingHttpToolsProtocol
from gateway.http.header_limit import HeaderLimitProtocol


class GatewayHttpProtocol(HeaderLimitProtocol, DrainingHttpToolsProtocol):
    """Bounded headers, and a drain that answers instead of closing under a request."""
