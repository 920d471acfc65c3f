"""The typed GraphQL context: what every resolver may use for one request."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.fetch import RequestFetches
from gateway.settings import Settings

if TYPE_CHECKING:
    from resolvers.clients import SourceClients


@dataclass(slots=True)
class Context:
    """Built for each request by ``gateway/http.py``; resolvers take ``Info[Context, None]``."""

    request_id: str
    settings: Settings
    clients: SourceClients
    deadline: float
    """When the request must be answered: an absolute ``loop.time()``. No upstream call, retry
    or wait goes past it."""
    fetches: RequestFetches = field(default_factory=RequestFetches)

    def __post_init__(self) -> None:
        self.fetches.deadline = self.deadline

    @staticmethod
    def deadline_in(seconds: float) -> float:
        """The ``deadline`` ``seconds`` from now."""
        return asyncio.get_running_loop().time() + seconds
