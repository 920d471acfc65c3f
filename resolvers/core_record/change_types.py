"""GraphQL types every change shares: what a mutation answers, and the idempotency key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import strawberry

from gateway import validation
from gateway.actor import Actor
from resolvers.core_record.writer import Written, scoped_key

IdempotencyKey = Annotated[
    str | None,
    strawberry.argument(
        description="Any string you choose (8-64 letters, digits, '.', '_', ':', '-'), the same "
        "for every retry of this change: a retry with the same key never writes twice, on any "
        "gateway instance."
    ),
]


@strawberry.type(description="One entry a change wrote.")
class ChangedEntry:
    resource_type: str = strawberry.field(description="The FHIR resource type.")
    id: strawberry.ID = strawberry.field(description="The entry's id.")
    version: str = strawberry.field(
        description="Its version now: pass it as baseVersion to change the entry again."
    )


@strawberry.type(description="What a change did.")
class ChangeResult:
    entries: list[ChangedEntry] = strawberry.field(
        description="The entries written (empty: nothing needed changing)."
    )
    replayed: bool = strawberry.field(
        description="An earlier attempt with the same idempotency key had already made this "
        "change; nothing was written this time."
    )


def result(written: Sequence[Written]) -> ChangeResult:
    """The answer for the entries a change wrote."""
    return ChangeResult(
        entries=[
            ChangedEntry(resource_type=w.resource_type, id=strawberry.ID(w.id), version=w.version)
            for w in written
        ],
        replayed=bool(written) and all(w.replayed for w in written),
    )


def key_of(actor: Actor, key: str | None) -> str | None:
    """The validated key, scoped to the caller."""
    if key is None:
        return None
    return scoped_key(actor.subject, validation.idempotency_key("idempotencyKey", key))
