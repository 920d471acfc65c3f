"""schema.graphql is what the code builds: frontend teams read that file."""

from __future__ import annotations

from pathlib import Path

from strawberry.printer import print_schema

from gateway.graphql.schema import build_schema

schema = build_schema()

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_graphql_matches_the_code() -> None:
    on_disk = SCHEMA_FILE.read_text(encoding="utf-8")
    assert on_disk.strip() == print_schema(schema).strip(), (
        "schema.graphql is out of date: run `make schema` and review the change"
    )


def test_every_type_and_field_has_a_description() -> None:
    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Boolean", "Int", "Float", "ID"}:
            continue
        if not graphql_type.description:
            missing.append(name)
        for field_name, field in getattr(graphql_type, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
    assert missing == []
