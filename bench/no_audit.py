"""Benchmark only: the gateway with its durable access-log write taken out, to price it.

The gateway has no setting that turns its access log off, and must never have one. To measure
what the durable write costs ("audit cost"), this factory builds the real gateway and hands each
request a writer whose ``commit`` returns at once: the events are still recorded per field as
always, only the group commit to the store is skipped. It lives in ``bench/``, which is not part
of the installed package, and nothing in ``gateway/`` refers to it, so no production
configuration can reach it.

    uvicorn --factory bench.no_audit:create_app
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.ceiling import ASGIApp, Receive, Scope, Send
from gateway.app import create_app as create_gateway
from gateway.audit.events import AuditEvent, PrivacyAlert
from gateway.audit.writer import AuditWriter

STATE_KEY = "audit_writer"


class DiscardingWriter(AuditWriter):
    """A writer that confirms every commit without writing anything."""

    async def commit(self, events: Sequence[AuditEvent], alerts: Sequence[PrivacyAlert]) -> None:
        """Drop the events: what remains of a request's cost is everything but the write."""


def create_app() -> ASGIApp:
    """The gateway from the environment's settings, its access-log commits discarded."""
    gateway = create_gateway()
    discarding: dict[int, DiscardingWriter] = {}  # by the real writer (one per lifespan)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state")
        if scope["type"] == "http" and state is not None:
            real = state.get(STATE_KEY)
            if not isinstance(real, AuditWriter):
                # The lifespan state changed shape: fail rather than measure the wrong thing.
                raise RuntimeError(f"the gateway's lifespan state has no {STATE_KEY!r}")
            writer = discarding.get(id(real))
            if writer is None:
                # Built on the real store, so the access-log queries still read it.
                writer = discarding[id(real)] = DiscardingWriter(real.store, 1, 1.0)
            scope["state"] = {**state, STATE_KEY: writer}
        await gateway(scope, receive, send)

    return app
