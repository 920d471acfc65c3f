"""graphql-core's errors about the values a request holds, kept but without the values.

When a variable (or a literal argument) cannot be coerced to its type, graphql-core says why and
quotes what it was given: ``Variable '$first' has invalid value: Int cannot represent non
32-bit signed integer value: 12834122055``. The value may be an identity number or a clinical
note, and messages are shown to clients and written to logs. So a message keeps graphql-core's
words up to the value and drops the value: ``… Int cannot represent non 32-bit signed integer
value.`` Each shape graphql-core (3.3) and strawberry produce is listed below; a variable error
of any other shape keeps only its prefix (``Variable '$input' has invalid value at .note.``),
which names the variable and the path through the schema's input fields, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from graphql import GraphQLError, VariableDefinitionNode

_TYPE = r"'[^']+'"  # a type as graphql-core prints it: 'Int!', '[String!]', 'OngoingTreatmentInput'
_NAME = r"'[_A-Za-z][_0-9A-Za-z]*'"  # a GraphQL name (never a number, never spaces)
_SUGGESTION = r"(?: Did you mean [^?]*\?)?"  # names hold no '?', so this ends where it should

_VARIABLE = re.compile(
    r"(Variable '\$[_A-Za-z][_0-9A-Za-z]*' has invalid (?:default )?value"
    r"(?: at (?:\.[_A-Za-z][_0-9A-Za-z]*|\[[0-9]+\])+)?): (.*)",
    re.DOTALL,
)
"""graphql-core's prefix of a variable's coercion error, then what was wrong with the value."""


def _keep(*groups: int) -> Callable[[re.Match[str]], str]:
    def kept(match: re.Match[str]) -> str:
        text = "".join(match.group(group) or "" for group in groups)
        return text if text.endswith((".", "?")) else text + "."

    return kept


_SHAPES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    # Say nothing of the value.
    (re.compile(rf"Expected a value of non-null type {_TYPE} to be provided\."), _keep(0)),
    (re.compile(rf"Expected value of non-null type {_TYPE} not to be None\."), _keep(0)),
    (
        re.compile(rf"Within OneOf Input Object type {_TYPE}, exactly one field must be .*"),
        _keep(0),
    ),
    # "…, found: <value>." (an object's required field, an object expected, a scalar's refusal).
    (
        re.compile(
            rf"(Expected value of type {_TYPE} not to include unknown field {_NAME})"
            r"(\. Did you mean [^?]*\?)?(?: Found|, found): .*",
            re.DOTALL,
        ),
        _keep(1, 2),
    ),
    (
        re.compile(rf"(Expected value of type {_TYPE} not to include unknown field) .*", re.DOTALL),
        _keep(1),
    ),
    (
        re.compile(
            rf"(Expected value of type {_TYPE}"
            rf"(?: to be an object| to include required field {_NAME})?)"
            r"(?:, but encountered error .*; found|, found):? .*",
            re.DOTALL,
        ),
        _keep(1),
    ),
    # Built-in scalars and enums: "Int cannot represent non-integer value: 'abc'".
    (
        re.compile(
            rf"((?:Int|Float|String|Boolean|ID|Enum {_NAME}) cannot represent [^:]*): .*", re.DOTALL
        ),
        _keep(1),
    ),
    # Enums: "Value 'DIALYSI' does not exist in 'OngoingTreatmentType' enum. Did you mean …?"
    (
        re.compile(rf"Value .*( does not exist in {_NAME} enum\.{_SUGGESTION})", re.DOTALL),
        lambda match: "Value" + match.group(1),
    ),
    # strawberry's scalars (Date, DateTime…): 'Value cannot represent a Date: "x". …'
    (re.compile(r"(Value cannot represent a [_A-Za-z][_0-9A-Za-z]*): .*", re.DOTALL), _keep(1)),
]


def without_value(message: str) -> str | None:
    """``message`` without the value it quotes, if it has one of the known shapes."""
    for pattern, rewrite in _SHAPES:
        match = pattern.fullmatch(message)
        if match is not None:
            return rewrite(match)
    return None


def is_variable_error(error: GraphQLError) -> bool:
    """Whether graphql-core reported ``error`` while coercing the request's variables: it
    points at a variable's definition, before execution (no path)."""
    return (
        error.path is None
        and bool(error.nodes)
        and all(isinstance(node, VariableDefinitionNode) for node in error.nodes or ())
    )


def safe_variable_message(message: str) -> str:
    """A variable's coercion error as graphql-core words it, without the value; for a shape
    not listed here, the prefix alone (fail closed)."""
    match = _VARIABLE.fullmatch(message)
    if match is None:
        return "A variable has an invalid value."
    detail = without_value(match.group(2))
    return f"{match.group(1)}: {detail}" if detail is not None else f"{match.group(1)}."
