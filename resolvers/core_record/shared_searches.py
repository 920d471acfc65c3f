"""The core-record searches that more than one section reads, each defined once.

Two sections that start the same search share one upstream call only if they start it under the
same key with the same request; defining it here keeps the two from drifting apart.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from gateway.graphql.context import Context
from gateway.graphql.section import SourceName
from gateway.identity import NationalIdentityNumber
from gateway.upstream.fan_out import Fetched

if TYPE_CHECKING:
    from resolvers.core_record.client import Conditions, Flags

SOURCE = SourceName.CORE_RECORD


def conditions(ctx: Context, nin: NationalIdentityNumber) -> asyncio.Future[Fetched[Conditions]]:
    """Critical conditions and self-reported diseases: one Condition search."""
    core = ctx.clients.core_record
    return ctx.fetches.search(SOURCE.value, "Condition", nin.value, lambda: core.conditions(nin))


def flags(ctx: Context, nin: NationalIdentityNumber) -> asyncio.Future[Fetched[Flags]]:
    """Clinical warnings and communication needs: one Flag search."""
    core = ctx.clients.core_record
    return ctx.fetches.search(SOURCE.value, "Flag", nin.value, lambda: core.flags(nin))
