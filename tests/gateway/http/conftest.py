"""A small real app for the GraphQL route's middleware: the route's endpoint only reports what
reached it, so each test sees what the middleware let through and what it left in
``request.state``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.access.dev_issuer import dev_issuer_settings
from gateway.access.tokens import build_authenticator
from gateway.http.authentication import Authentication
from gateway.http.csrf import CsrfPrevention
from gateway.settings import AuthSettings
from tests.conftest import asgi_served, dev_issuer


@dataclass
class Guarded:
    """The app's URL, and every request its endpoint saw (the middleware let through)."""

    url: str
    session: aiohttp.ClientSession
    reached: list[dict[str, str | None]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def _guarded_app() -> AsyncIterator[Guarded]:
    reached: list[dict[str, str | None]] = []

    async def endpoint(request: Request) -> JSONResponse:
        actor = getattr(request.state, "actor", None)
        stated = getattr(request.state, "stated", None)
        seen = {
            "method": request.method,
            "actor": actor.name if actor is not None else None,
            "purpose": stated.purpose.value if stated and stated.purpose else None,
        }
        reached.append(seen)
        return JSONResponse(seen)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, object]]:
        async with aiohttp.ClientSession() as upstream:
            settings = AuthSettings(dev_issuer=True)
            keys = dev_issuer().jwks()
            yield {
                "authenticator": build_authenticator(
                    settings, upstream, keys, dev_issuer_settings()
                )
            }

    route = Route(
        "/graphql",
        endpoint,
        methods=["GET", "POST"],
        middleware=[Middleware(CsrfPrevention), Middleware(Authentication)],
    )
    app = Starlette(routes=[route], lifespan=lifespan)
    async with asgi_served(app) as url, aiohttp.ClientSession() as session:
        yield Guarded(f"{url}/graphql", session, reached)


@pytest.fixture(scope="module")
async def guarded_app() -> AsyncIterator[Guarded]:
    async with _guarded_app() as guarded:
        yield guarded


@pytest.fixture
def guarded(guarded_app: Guarded) -> Guarded:
    """The shared app with a fresh record of what reached its endpoint."""
    guarded_app.reached.clear()
    return guarded_app
