"""The outermost middleware of the GraphQL endpoint: every request is logged, counted and traced
(``gateway/ops/observe.py``), the ones refused before the view (401, CSRF) included."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.ops.observe import RequestObserver


class Observed:
    """Run each HTTP request through ``observer``; anything else passes as it is."""

    def __init__(self, app: ASGIApp, observer: RequestObserver) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.observer.around(scope, receive, send, self.app)
        else:
            await self.app(scope, receive, send)
