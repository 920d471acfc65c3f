"""The executor's shortcuts (plans, shared lists) give exactly what graphql-core gives.

Each query runs on two schemas built from the same types: strawberry's own executor, and the
gateway's ``SharingExecutionContext``, three times in a row so that kept completions are used.
Data and errors (message and path) must be equal every time. (The real schema is walked in
``tests/gateway/execution/test_reach.py``, and compared on generated queries in
``tests/gateway/execution/test_differential.py``.)
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.extensions import ParserCache
from strawberry.types import Info

from gateway.execution.shared_list import SharedList, shared
from gateway.execution.shared_results import Shortcuts


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Part:
    name: str
    weight: float | None
    colour: Colour


@strawberry.type
class Item:
    id: strawberry.ID
    at: dt.datetime | None
    label: str  # non-null: an item without one is an error at its path
    parts: list[Part]
    best: Part | None

    @strawberry.field
    def shout(self) -> str:
        return self.label.upper()

    @strawberry.field
    def tagged(self, prefix: str) -> str:
        return f"{prefix}{self.label}"

    @strawberry.field
    def risky(self) -> str | None:
        if self.id == "1":
            raise ValueError("item 1 cannot say")
        return f"fine {self.id}"

    @strawberry.field
    def seen_by(self, info: Info) -> str:
        return str(info.context["who"])


def _item(n: int, label: Any = "x") -> Item:
    parts = [
        Part(name=f"p{n}{i}", weight=i * 1.5 if i else None, colour=Colour.RED) for i in range(3)
    ]
    return Item(
        id=strawberry.ID(str(n)),
        at=dt.datetime(2026, 1, n + 1, 12, tzinfo=dt.UTC),
        label=label,
        parts=parts,
        best=parts[1],
    )


GOOD: SharedList = shared([_item(n, f"item{n}") for n in range(4)])
BROKEN: SharedList = shared([_item(0, "ok"), _item(1, None), _item(2, "ok")])


@strawberry.type
class Query:
    @strawberry.field
    def shared_items(self) -> list[Item]:
        return GOOD

    @strawberry.field
    def broken_items(self) -> list[Item] | None:
        return BROKEN

    @strawberry.field
    def fresh_items(self) -> list[Item]:
        return [_item(n, f"fresh{n}") for n in range(2)]

    @strawberry.field
    def one(self) -> Item:
        return _item(7, "one")


# As in the gateway, the parser cache gives the same document (and nodes) for the same text.
PLAIN = strawberry.Schema(query=Query, extensions=[ParserCache])
SHORTCUTS = Shortcuts()
SHARING = strawberry.Schema(
    query=Query, extensions=[ParserCache], execution_context_class=SHORTCUTS.context_class
)

QUERIES = {
    "leaves, enums, dates, nested lists": (
        "{ sharedItems { id at label parts { name weight colour } best { name } } }"
    ),
    "aliases and __typename": (
        "{ a: sharedItems { __typename x: label y: label } b: one { __typename id } }"
    ),
    "resolver methods": "{ sharedItems { shout } freshItems { shout parts { colour } } }",
    "arguments": '{ sharedItems { tagged(prefix: "#") } one { tagged(prefix: "!") } }',
    "a resolver that reads info": "{ sharedItems { seenBy label } }",
    "fragments": (
        "{ sharedItems { ...F parts { ... on Part { name } } } } fragment F on Item { id label }"
    ),
    "a field twice, merged": "{ sharedItems { best { name } best { weight } } }",
    "a null in a non-null field": "{ brokenItems { id label parts { name } } }",
    "a null in a non-null field, via a method": "{ brokenItems { id shout } }",
    "an error in a nullable field": "{ sharedItems { id risky } }",
}


def _run(schema: strawberry.Schema, query: str, variables: dict[str, Any] | None = None) -> Any:
    result = schema.execute_sync(query, variable_values=variables, context_value={"who": "me"})
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_every_shortcut_gives_what_graphql_core_gives(query: str) -> None:
    expected = _run(PLAIN, query)
    for _ in range(3):
        assert _run(SHARING, query) == expected


def test_a_selection_that_depends_on_variables_is_completed_afresh() -> None:
    query = "query($show: Boolean!) { sharedItems { id label @include(if: $show) } }"
    for show in (True, False, True, False):
        result = _run(SHARING, query, {"show": show})
        assert result == _run(PLAIN, query, {"show": show})
        assert ("label" in result[0]["sharedItems"][0]) is show


def test_a_shared_list_is_completed_once_per_selection() -> None:
    query = "{ sharedItems { id parts { name } } }"
    first = SHARING.execute_sync(query).data
    second = SHARING.execute_sync(query).data
    assert first is not None and second is not None
    assert second["sharedItems"] is first["sharedItems"], "the kept completion is reused"
    other = SHARING.execute_sync("{ sharedItems { label } }").data
    assert other is not None
    assert other["sharedItems"] == [{"label": f"item{n}"} for n in range(4)]


def test_a_list_that_completed_with_errors_is_not_kept() -> None:
    query = "{ sharedItems { id risky } }"
    for _ in range(3):
        result = SHARING.execute_sync(query)
        assert result.errors, "the error is reported every time, not only the first"
        assert result.errors[0].path == ["sharedItems", 1, "risky"]
        assert result.data is not None
        assert result.data["sharedItems"][1] == {"id": "1", "risky": None}


def test_a_completion_is_kept_only_when_a_plan_made_it() -> None:
    """A selection with a fragment has no plan: its completion is made afresh every time, even
    of a shared list, while a plain selection of the same list is kept."""
    with_fragment = "{ sharedItems { ...F } } fragment F on Item { id label }"
    first = SHARING.execute_sync(with_fragment).data
    second = SHARING.execute_sync(with_fragment).data
    assert first is not None and second is not None
    assert second == first
    assert second["sharedItems"] is not first["sharedItems"]
    plain = "{ sharedItems { id label } }"
    kept = SHARING.execute_sync(plain).data
    again = SHARING.execute_sync(plain).data
    assert kept is not None and again is not None
    assert again["sharedItems"] is kept["sharedItems"]
    assert kept["sharedItems"] == first["sharedItems"]


def test_each_schema_has_plans_of_its_own() -> None:
    other = Shortcuts()
    schema = strawberry.Schema(query=Query, execution_context_class=other.context_class)
    before = len(SHORTCUTS.plans)
    assert schema.execute_sync("{ one { id label } }").errors is None
    assert len(other.plans) > 0
    assert len(SHORTCUTS.plans) == before
