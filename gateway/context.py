"""The typed GraphQL context: what every resolver may use for one request."""

from __future__ import annotations

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
    fetches: RequestFetches = field(default_factory=RequestFetches)
