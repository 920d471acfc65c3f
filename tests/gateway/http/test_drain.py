"""The drain of gateway/http/drain.py over a real uvicorn server in this process, and the uvicorn
internals it relies on, by name (an upgrade that changes them fails here first)."""

from __future__ import annotations

import asyncio
import inspect
import socket

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.supervisors import Multiprocess

from gateway.http.drain import DrainingHttpToolsProtocol


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def _ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[str, bytes]:
    """(the status line and headers, lower-cased; the body)."""
    writer.write(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode().lower()
    return head, await reader.readexactly(len(b"hello"))


async def test_an_idle_connection_at_shutdown_is_answered_with_connection_close() -> None:
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    config = uvicorn.Config(
        Starlette(routes=[Route("/", _hello)]),
        http=DrainingHttpToolsProtocol,
        log_config=None,
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head, _ = await _ask(reader, writer)
        assert "connection: close" not in head

        server.should_exit = True
        await _until_refused(port)  # shutdown began: it closes the socket, then drains
        head, body = await _ask(reader, writer)
        assert head.startswith("http/1.1 200") and body == b"hello"
        assert "connection: close" in head
        assert await reader.read() == b"", "closed after that answer"
    finally:
        writer.close()
        await writer.wait_closed()
    await asyncio.wait_for(serving, 10)


async def _until_refused(port: int) -> None:
    """Once uvicorn's shutdown closed the listening socket (it then drains in the same step)."""
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            return
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.01)


def test_the_uvicorn_internals_the_drain_relies_on_are_there() -> None:
    protocol = inspect.getsource(HttpToolsProtocol)
    for name in ("self.cycle", "self.timeout_keep_alive_task", "self.loop"):
        assert name in protocol, name
    for method in ("shutdown", "on_headers_complete", "timeout_keep_alive_handler"):
        assert callable(getattr(HttpToolsProtocol, method)), method
    cycle = inspect.getsource(RequestResponseCycle)
    assert "self.keep_alive" in cycle and "self.response_complete" in cycle
    assert "self.sockets = sockets" in inspect.getsource(Multiprocess.__init__)
    assert "process.terminate()" in inspect.getsource(Multiprocess.terminate_all)
    assert "self.terminate_all()" in inspect.getsource(Multiprocess.run)
