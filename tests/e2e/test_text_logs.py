"""``GATEWAY_OPS__LOG_FORMAT=text``: the same fields as the JSON lines, as ``key=value``."""

from __future__ import annotations

import re
import uuid

import aiohttp
import orjson

from mocks.fixtures import FIXTURES
from mocks.runner import MockRegistries
from resolvers.examples import summary_query
from tests.conftest import bearer, settings_for
from tests.process_support import gateway_env, gateway_process


def _fields(line: str) -> dict[str, str]:
    """The ``key=value`` pairs of one text line (a quoted value may hold spaces)."""
    return {
        key: value.strip('"')
        for key, value in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)', line)
    }


async def _requests(url: str, run: str) -> None:
    async with aiohttp.ClientSession() as session:
        for request_id, headers in ((f"{run}-granted", bearer()), (f"{run}-anonymous", {})):
            async with session.post(
                f"{url}/graphql",
                json={"query": summary_query(), "variables": {"nin": FIXTURES[0].nin}},
                headers={**headers, "X-Request-ID": request_id},
            ) as response:
                await response.read()


async def test_text_log_lines_carry_the_same_request_fields_as_json(
    registries: MockRegistries,
) -> None:
    settings = settings_for(registries)
    lines: dict[str, list[str]] = {}
    for log_format in ("json", "text"):
        env = gateway_env(
            settings,
            GATEWAY_OPS__LOG_FORMAT=log_format,
            GATEWAY_AUDIT__SQLITE_FILE=f"text-logs-{uuid.uuid4().hex}.sqlite3",
        )
        async with gateway_process(env) as gateway:
            await _requests(gateway.url, log_format)
        lines[log_format] = [line for line in gateway.output if "gateway.request" in line]

    json_lines = {entry["request_id"]: entry for entry in map(orjson.loads, lines["json"])}
    text_lines = {
        fields["request_id"]: (line, fields)
        for line in lines["text"]
        for fields in [_fields(line)]
        if "request_id" in fields
    }
    assert set(text_lines) == {"text-granted", "text-anonymous"}, lines["text"]

    granted_line, granted = text_lines["text-granted"]
    assert " INFO gateway.request request " in granted_line
    assert granted["operation"] == "PatientSummary"
    assert granted["status"] == "200"
    assert granted["outcome"] == "ok"
    assert granted["organisation"]
    assert float(granted["duration_ms"]) > 0
    _, anonymous = text_lines["text-anonymous"]
    assert anonymous["status"] == "401"
    assert anonymous["outcome"] == "unauthenticated"

    # The same fields in both formats (the JSON line's message and level are the text line's
    # words; its time is the text line's first word).
    json_keys = set(json_lines["json-granted"]) - {"event", "level", "logger", "ts"}
    assert set(granted) == json_keys
