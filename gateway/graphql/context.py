"""The typed GraphQL context: what every resolver may use for one request."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.access.actor import Actor, StatedAccess
from gateway.audit.trail import AuditTrail
from gateway.settings import Settings
from gateway.upstream.fan_out import RequestFetches

if TYPE_CHECKING:
    from gateway.audit.writer import AuditWriter
    from resolvers.clients import SourceClients


@dataclass(slots=True)
class Context:
    """Built for each request by ``gateway/http/view.py``; resolvers take ``Info[Context, None]``.

    ``actor`` is always an authenticated caller: the HTTP view answers 401 before a context
    exists for anyone else. ``audit`` gathers the request's access-log events, which the
    ``WriteAccessLog`` extension makes durable through ``audit_writer`` before the answer leaves.
    """

    request_id: str
    settings: Settings
    clients: SourceClients
    deadline: float
    """When the request must be answered: an absolute ``loop.time()``. No upstream call, retry
    or wait goes past it."""
    actor: Actor
    stated: StatedAccess
    audit_writer: AuditWriter
    audit: AuditTrail = field(init=False)
    fetches: RequestFetches = field(default_factory=RequestFetches)

    def __post_init__(self) -> None:
        self.audit = AuditTrail(self.actor, self.stated, self.request_id)
        self.fetches.deadline = self.deadline

    @staticmethod
    def deadline_in(seconds: float) -> float:
        """The ``deadline`` ``seconds`` from now."""
        return asyncio.get_running_loop().time() + seconds

    @staticmethod
    def upstream_deadline(request_deadline_s: float) -> float:
        """The upstream calls' deadline for a request allowed ``request_deadline_s``: a little
        earlier, so that a registry that hangs is given up with time left to answer with the
        other sections and to write the access log, before the whole request's deadline
        (DEADLINE_EXCEEDED, no data) would strike."""
        margin = min(0.5, request_deadline_s * 0.2)
        return Context.deadline_in(request_deadline_s - margin)
