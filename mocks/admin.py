"""The admin routes of a mock registry: switch faults, latency and the server mode, read and reset
request counts.

    GET    /_admin/fault    {"fault": {...}, "latency_ms": 0}
    PUT    /_admin/fault    {"kind": "http_503", "retry_after_s": 2, "latency_ms": 0,
                             "later_pages_only": false, "resource_types": [], "times": null}
    DELETE /_admin/fault    back to normal service
    PUT    /_admin/latency  {"latency_ms": 250}: delay added to every response, fault or not
    GET    /_admin/stats    {"total": 12, "by_resource_type": {"MedicationRequest": 3, ...}}
    DELETE /_admin/stats    reset the counters
    GET    /_admin/mode     {"mode": "dialect", "unknown_params": []}
    PUT    /_admin/mode     {"mode": "standard", "unknown_params": ["date"]} (see mocks/modes.py)
    DELETE /_admin/mode     back to the dialect mode

Admin requests are not counted. ``connection_refused`` is refused here (400): once the port is
closed, no HTTP client could reach this route to open it again; use the Python API.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from mocks.faults import Fault, FaultInjector, FaultKind
from mocks.modes import DIALECT, ServerMode
from mocks.sources import ADMIN_PREFIX


def admin_routes(injector: FaultInjector) -> list[web.RouteDef]:
    """The ``/_admin`` routes controlling ``injector``."""

    def state() -> web.Response:
        return web.json_response(
            {"fault": injector.fault.to_json(), "latency_ms": injector.latency_ms}
        )

    async def get_fault(request: web.Request) -> web.Response:
        return state()

    async def put_fault(request: web.Request) -> web.Response:
        try:
            fault = Fault.from_json(orjson.loads(await request.read()))
        except (ValueError, orjson.JSONDecodeError) as exc:
            return _bad_request(str(exc))
        if fault.kind is FaultKind.CONNECTION_REFUSED:
            return _bad_request("connection_refused closes the port; set it through the Python API")
        injector.set_fault(fault)
        return state()

    async def delete_fault(request: web.Request) -> web.Response:
        injector.clear_fault()
        return state()

    async def put_latency(request: web.Request) -> web.Response:
        try:
            data = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            return _bad_request(str(exc))
        latency = data.get("latency_ms") if isinstance(data, dict) else None
        if not isinstance(latency, int) or isinstance(latency, bool) or latency < 0:
            return _bad_request("latency_ms must be a non-negative integer")
        injector.set_latency(latency)
        return state()

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(injector.stats().to_json())

    async def delete_stats(request: web.Request) -> web.Response:
        injector.reset_stats()
        return web.json_response(injector.stats().to_json())

    def mode_state() -> web.Response:
        return web.json_response(injector.mode.to_json())

    async def get_mode(request: web.Request) -> web.Response:
        return mode_state()

    async def put_mode(request: web.Request) -> web.Response:
        try:
            mode = ServerMode.from_json(orjson.loads(await request.read()))
        except (ValueError, orjson.JSONDecodeError) as exc:
            return _bad_request(str(exc))
        injector.set_mode(mode)
        return mode_state()

    async def delete_mode(request: web.Request) -> web.Response:
        injector.set_mode(DIALECT)
        return mode_state()

    return [
        web.get(f"{ADMIN_PREFIX}/mode", get_mode),
        web.put(f"{ADMIN_PREFIX}/mode", put_mode),
        web.delete(f"{ADMIN_PREFIX}/mode", delete_mode),
        web.get(f"{ADMIN_PREFIX}/fault", get_fault),
        web.put(f"{ADMIN_PREFIX}/fault", put_fault),
        web.delete(f"{ADMIN_PREFIX}/fault", delete_fault),
        web.put(f"{ADMIN_PREFIX}/latency", put_latency),
        web.get(f"{ADMIN_PREFIX}/stats", get_stats),
        web.delete(f"{ADMIN_PREFIX}/stats", delete_stats),
    ]


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)
