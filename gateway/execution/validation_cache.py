"""Validation results kept per parsed document, found by identity rather than by hashing.

strawberry's ``ValidationCache`` keys an ``lru_cache`` on the document, and a graphql-core
document hashes by walking its whole tree: for the summary query that walk cost 4 % of a warm
request, every request. The parser cache (``ParserCache``) already returns the same document
object for the same text, so that object's identity is key enough; the entry holds the document
and the rules it was validated with, so an id is never reused while its entry lives.

Validation runs through graphql-core's public ``validate``, with the two rules strawberry adds to
every document (``STRAWBERRY_RULES``; strawberry's own ``validate_document`` is not public API).
``tests/gateway/execution/test_private_names.py`` checks that strawberry still adds exactly these.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema
from graphql import validate as graphql_validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from gateway.execution.by_identity import MISSING, ByIdentity

STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (
    MaybeNullValidationRule,
    OneOfInputValidationRule,
)
"""The rules strawberry adds to every validation (``Maybe`` fields, ``@oneOf`` inputs)."""


def validate(
    schema: GraphQLSchema, document: DocumentNode, rules: Sequence[type[ASTValidationRule]]
) -> list[GraphQLError]:
    """The errors of ``document`` under ``rules`` and strawberry's own, as strawberry finds them."""
    return graphql_validate(schema, document, (*rules, *STRAWBERRY_RULES))


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
        errors = validate(schema, document, rules)
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
            # ``_schema``: strawberry's graphql-core schema, which it offers no public name for.
            context.schema._schema,
            context.graphql_document,
            context.validation_rules,
        )
        yield
