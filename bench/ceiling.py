"""The ceiling: the least an ASGI server on this machine can do to answer a summary request.

A bare ASGI app (no framework) that reads the request and answers with a pre-encoded summary,
the same bytes the gateway sent for the benchmark patient. Served by the same uvicorn, workers,
uvloop and httptools as the gateway, its throughput is what no gateway could exceed here.

    BENCH_CEILING_BODY=/path/summary.json uvicorn --factory bench.ceiling:create_app
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BODY_ENV = "BENCH_CEILING_BODY"


def create_app() -> ASGIApp:
    """The ceiling app, answering every HTTP request with the file named by BENCH_CEILING_BODY."""
    body = Path(os.environ[BODY_ENV]).read_bytes()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    start = {"type": "http.response.start", "status": 200, "headers": headers}
    answer = {"type": "http.response.body", "body": body}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        more = True
        while more:  # read the request, as any server of POSTs must
            more = (await receive()).get("more_body", False)
        await send(start)
        await send(answer)

    return app
