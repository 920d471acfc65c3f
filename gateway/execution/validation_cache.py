"""Validation results kept per parsed document, found by identity rather than by hashing.

strawberry's ``ValidationCache`` keys an ``lru_cache`` on the document, and a graphql-core
document hashes by walking its whole tree: for the summary query that walk cost 4 % of a warm
request, every request. The parser cache (``ParserCache``) already returns the same document
object for the same text, so that object's identity is key enough; the entry holds the document
and the rules it was validated with, so an id is never reused while its entry lives.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from gateway.execution.by_identity import MISSING, ByIdentity


class ValidationResults:
    """The validation errors of recent documents, for one schema; bounded, oldest out first."""

    def __init__(self, maxsize: int) -> None:
        self._kept: ByIdentity[list[GraphQLError]] = ByIdentity(maxsize)

    def validate(self, schema: Any, document: Any, rules: Sequence[Any]) -> list[GraphQLError]:
        """The errors of ``document`` under ``rules``, validated once while it is kept."""
        owners: tuple[object, ...] = (schema, document, *rules)
        kept = self._kept.get(owners)
        if kept is not MISSING:
            return kept
        errors = validate_document(schema, document, tuple(rules))
        self._kept.put(owners, errors)
        return errors


class CachedValidation(SchemaExtension):
    """Validates each request's document through the schema's ``ValidationResults``."""

    def __init__(self, results: ValidationResults) -> None:
        super().__init__()
        self._results = results

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.pre_execution_errors = self._results.validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield
