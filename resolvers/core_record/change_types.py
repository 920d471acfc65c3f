"""GraphQL types every change shares: what a mutation answers, and the idempotency key."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import orjson
import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from gateway.graphql import input_checks
from gateway.graphql.context import Context
from resolvers.core_record.fhir_changes import ChangeKey
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


def key_of(info: Info[Context, None], key: str | None) -> ChangeKey | None:
    """The validated key, scoped to the caller, with the fingerprint of the change asked for:
    the mutation's name and its arguments (all but the key), in one canonical form. A retry
    sends the same change, so it has the same fingerprint; another change under the key has
    another (``writer.py`` refuses it)."""
    if key is None:
        return None
    scoped = scoped_key(
        info.context.actor.subject, input_checks.idempotency_key("idempotencyKey", key)
    )
    assert scoped is not None
    # The mutation's own field (selected more than once only with the same arguments).
    field = info.selected_fields[0]
    assert isinstance(field, SelectedField)
    arguments = {name: value for name, value in field.arguments.items() if name != "idempotencyKey"}
    return ChangeKey(scoped, fingerprint(info.field_name, arguments))


def fingerprint(mutation: str, arguments: Mapping[str, Any]) -> str:
    """A hash of one change: the mutation and its arguments, key order and the whitespace
    around text (which validation drops) left out."""
    canonical = orjson.dumps(
        {"mutation": mutation, "arguments": _trimmed(arguments)},
        option=orjson.OPT_SORT_KEYS,
        default=str,
    )
    return hashlib.sha256(canonical).hexdigest()


def _trimmed(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Mapping):
        return {str(k): _trimmed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_trimmed(v) for v in value]
    return value
