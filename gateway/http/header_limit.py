"""A bound on request headers where they are read: uvicorn's httptools protocol, counted.

uvicorn's httptools protocol has no limit on the size of a request's headers: httptools joins
a header's pieces as they arrive, so a 32 MB ``Authorization`` header is read, held and parsed
in full before the app (and its 401) sees it, and an ASGI middleware is too late for the memory
it took. ``HeaderLimitProtocol`` counts the bytes that arrive while a request's headers are
incomplete and, past the limit, answers ``431 HEADERS_TOO_LARGE``, stops parsing and closes
the connection, so at most the limit and one read (64 KiB) are held. The limit is uvicorn's own
``h11_max_incomplete_event_size`` setting, which the h11 protocol honours too, so one option
bounds both parsers (``gateway/cli/workers.py`` sets it from ``ops.max_header_bytes``).

This relies on uvicorn's ``HttpToolsProtocol`` internals, which
``tests/gateway/http/test_header_limit.py`` names so that an upgrade breaks there first:
``data_received`` (each read, fed to the parser), the parser callbacks
``on_headers_complete`` and ``on_message_complete``, and the ``config``, ``transport`` and
``loop`` attributes.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

CODE: Final = "HEADERS_TOO_LARGE"
_DEFAULT_LIMIT: Final = 32 * 1024
_LINGER_S: Final = 5.0

log = logging.getLogger("gateway.http")


def _refusal() -> bytes:
    body = orjson.dumps(
        {
            "errors": [
                {"message": "The request's headers are too large.", "extensions": {"code": CODE}}
            ]
        }
    )
    head = (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: application/json\r\n"
        b"x-content-type-options: nosniff\r\n"
        b"cache-control: no-store\r\n"
        b"connection: close\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    return head + body


_REFUSAL: Final = _refusal()


class HeaderLimitProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that refuses a request whose request line and headers pass
    ``config.h11_max_incomplete_event_size`` bytes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit: int = self.config.h11_max_incomplete_event_size or _DEFAULT_LIMIT
        self._awaiting_headers = True  # a request's headers are still arriving
        self._header_bytes = 0  # bytes read since they started
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused or self.transport.is_closing():
            return
        if self._awaiting_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._awaiting_headers and self._header_bytes > self._limit:
            self._refuse()

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._header_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._awaiting_headers = True
        super().on_message_complete()

    def _refuse(self) -> None:
        log.warning("refused a request whose headers passed %d bytes", self._limit)
        self._refused = True
        self.transport.write(_REFUSAL)
        # A lingering close, as nginx does: closing a socket with unread data makes the kernel
        # send a reset, which can destroy the answer before the client reads it. So: end our
        # side, read and drop what still comes (nothing is kept), close after a few seconds.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_S, self.transport.close)
