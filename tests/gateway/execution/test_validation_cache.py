"""The validation cache: one validation per parsed document while it is kept, the same errors as
validating afresh, and never another document's result."""

from __future__ import annotations

from graphql import GraphQLError, ValidationContext, ValidationRule, parse
from graphql.validation import specified_rules

from gateway.execution.validation_cache import ValidationResults, validate
from gateway.graphql.schema import build_schema

SCHEMA = build_schema()._schema
VALID = "query($nin: NationalIdentityNumber!) { patient(nin: $nin) { nin } }"
INVALID = "query($nin: NationalIdentityNumber!) { patient(nin: $nin) { noSuchField } }"


class CountingRule(ValidationRule):
    """Counts how often validation really runs (graphql-core makes each rule once per run)."""

    runs = 0

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        CountingRule.runs += 1


def _messages(errors: list[GraphQLError]) -> list[str]:
    return [error.message for error in errors]


def test_the_same_document_is_validated_once_and_gives_the_same_errors() -> None:
    results = ValidationResults(maxsize=8)
    document = parse(INVALID)
    rules = [*specified_rules, CountingRule]
    CountingRule.runs = 0
    first = results.validate(SCHEMA, document, rules)
    again = results.validate(SCHEMA, document, rules)
    assert CountingRule.runs == 1
    assert again is first
    assert _messages(first) == _messages(validate(SCHEMA, document, rules))
    assert any("noSuchField" in message for message in _messages(first))


def test_an_equal_text_parsed_again_is_another_document_and_validated_anew() -> None:
    # Found by identity: the parser cache hands out one object per text; a second parse is a
    # new document, validated on its own (never a result that belonged to another object).
    results = ValidationResults(maxsize=8)
    rules = [*specified_rules, CountingRule]
    CountingRule.runs = 0
    results.validate(SCHEMA, parse(VALID), rules)
    results.validate(SCHEMA, parse(VALID), rules)
    assert CountingRule.runs == 2


def test_other_rules_are_another_entry() -> None:
    results = ValidationResults(maxsize=8)
    document = parse(VALID)
    assert results.validate(SCHEMA, document, list(specified_rules)) == []
    CountingRule.runs = 0
    results.validate(SCHEMA, document, [*specified_rules, CountingRule])
    assert CountingRule.runs == 1


def test_the_oldest_document_leaves_first_when_full() -> None:
    results = ValidationResults(maxsize=2)
    rules = [*specified_rules, CountingRule]
    documents = [parse(VALID) for _ in range(3)]
    for document in documents:
        results.validate(SCHEMA, document, rules)
    CountingRule.runs = 0
    results.validate(SCHEMA, documents[2], rules)
    results.validate(SCHEMA, documents[1], rules)
    assert CountingRule.runs == 0, "the two newest are kept"
    results.validate(SCHEMA, documents[0], rules)
    assert CountingRule.runs == 1, "the oldest was let go"
