"""A FHIR ``batch`` (R4 §3.1.0.11) as a mock registry answers it, when its mode offers one.

``POST [base]`` with a ``Bundle`` of type ``batch`` whose entries are ``GET`` requests (searches
``Type?…`` and reads ``Type/id``, relative to the base). The answer is a ``batch-response`` with one
entry per request, in order: ``response.status``, and the resource (the searchset, the resource
read, or the ``OperationOutcome`` of a failure). Entries run concurrently, each counted and
faulted by the registry's ``FaultInjector`` as the request alone would be: a fault on one type
fails that entry only, a hanging entry holds the whole answer. An entry whose answer is not JSON
(a proxy's error page, a body cut short) is what the whole exchange answers, since a batch
cannot carry it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from aiohttp import web
from yarl import URL

from mocks.faults import FaultInjector
from mocks.fhir import FHIR_JSON, error_response
from mocks.search import PAGE_PARAM
from mocks.sources import FHIR_BASE_PATH

EntryAnswer = Callable[[URL], Awaitable[web.Response]]


async def answer_batch(
    request: web.Request, injector: FaultInjector, answer: EntryAnswer
) -> web.StreamResponse:
    """The ``batch-response`` to ``request``, each entry answered by ``answer``."""
    try:
        bundle = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return error_response(400, "invalid", "the batch is not JSON")
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    if (
        not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
        or bundle.get("type") != "batch"
        or not isinstance(entries, list)
    ):
        return error_response(400, "invalid", "expected a Bundle of type batch")
    origin = request.url.origin()
    responses = await asyncio.gather(
        *(_entry(request, injector, answer, origin, entry) for entry in entries)
    )
    parts = []
    for response in responses:
        body = response.body if isinstance(response, web.Response) else None
        if not isinstance(body, bytes | bytearray) or response.content_type != FHIR_JSON:
            return response
        try:
            orjson.loads(body)  # checked, then spliced in as it is: not decoded and re-encoded
        except orjson.JSONDecodeError:
            return response
        status = orjson.dumps({"status": _status_line(response)})
        parts.append(b'{"resource":%b,"response":%b}' % (bytes(body), status))
    return web.Response(
        body=b'{"resourceType":"Bundle","type":"batch-response","entry":[%b]}' % b",".join(parts),
        content_type=FHIR_JSON,
        charset="utf-8",
    )


async def _entry(
    request: web.Request,
    injector: FaultInjector,
    answer: EntryAnswer,
    origin: URL,
    entry: Any,
) -> web.StreamResponse:
    asked = entry.get("request") if isinstance(entry, Mapping) else None
    method = asked.get("method") if isinstance(asked, Mapping) else None
    relative = asked.get("url") if isinstance(asked, Mapping) else None
    if method != "GET" or not isinstance(relative, str) or relative.startswith(("/", "http")):
        return error_response(400, "not-supported", "a batch entry must GET a relative URL")
    url = origin.join(URL(f"{FHIR_BASE_PATH}/{relative}", encoded=False))
    resource_type = url.path.removeprefix(FHIR_BASE_PATH).strip("/").split("/")[0]
    return await injector.answer_entry(
        request, resource_type, PAGE_PARAM in url.query, lambda: answer(url)
    )


def _status_line(response: web.StreamResponse) -> str:
    return f"{response.status} {response.reason}"
