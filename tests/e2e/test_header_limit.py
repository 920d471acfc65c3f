"""Request headers are bounded where they are read: a 32 MB header is answered 431 by the HTTP
server itself, without the server holding it, parsing it or handing it to the app."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from gateway.settings import OperationsSettings
from mocks.runner import MockRegistries
from tests.conftest import settings_for, token_for
from tests.process_support import gateway_env, gateway_process

HUGE = 32 * 1024 * 1024


async def _raw_request(url: str, headers: bytes, padding: int = 0) -> bytes:
    """POST ``{ __typename }`` with ``headers`` and an ``X-Padding`` header of ``padding``
    bytes, sent in 64 KiB writes while the answer is read (as a browser does); the answer."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    answer = asyncio.create_task(reader.read())
    body = b'{"query": "{ __typename }"}'
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        + headers
        + b"X-Padding: "
    )
    chunk = b"a" * 65536
    with contextlib.suppress(ConnectionError):
        sent = 0
        while sent < padding and not answer.done():
            writer.write(chunk[: padding - sent])
            await writer.drain()
            sent += min(len(chunk), padding - sent)
        if not answer.done():
            writer.write(b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
    try:
        return await asyncio.wait_for(answer, 60)
    finally:
        writer.close()


def _status_and_body(answer: bytes) -> tuple[int, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


async def test_a_32_mb_header_is_answered_431_without_being_held_and_a_normal_one_passes(
    registries: MockRegistries,
) -> None:
    env = gateway_env(
        settings_for(registries),
        GATEWAY_AUDIT__SQLITE_FILE=f"header-limit-{uuid.uuid4().hex}.sqlite3",
    )
    limit = OperationsSettings().max_header_bytes
    token = f"Authorization: Bearer {token_for()}\r\n".encode()
    async with gateway_process(env) as gateway:
        # Headers just under the limit (a large token, many cookies) are served as usual.
        answer = await _raw_request(
            gateway.url, token + b"Connection: close\r\n", limit - len(token) - 512
        )
        assert _status_and_body(answer)[0] == 200, answer[:300]

        peak_before = _peak_rss_kib(gateway.process.pid)
        answer = await _raw_request(gateway.url, b"Authorization: Bearer ", HUGE)
        peak_after = _peak_rss_kib(gateway.process.pid)
        status, body = _status_and_body(answer)
        assert status == 431, answer[:300]
        assert orjson.loads(body)["errors"][0]["extensions"]["code"] == "HEADERS_TOO_LARGE"
        assert b"connection: close" in answer.lower()
        # Held in full, the header raised the peak by well over its 32 MB.
        assert peak_after - peak_before < 8 * 1024, (peak_before, peak_after)
