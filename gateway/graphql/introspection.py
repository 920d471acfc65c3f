"""Introspection and field suggestions: on in the demo, off in production.

With both off, a caller who does not already know the schema cannot read it from the gateway:
``__schema``/``__type`` are refused with ``INTROSPECTION_DISABLED``, and validation messages lose
graphql-core's "Did you mean …?" hints, which would otherwise spell out field names one typo at
a time. ``__typename`` stays allowed: clients such as Apollo add it to every selection.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import FieldNode, GraphQLError, ValidationRule

_INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
# Anywhere in the message (an unknown input field's is followed by more text); the suggested
# names hold no "?", so the match ends with the suggestion.
_SUGGESTION = re.compile(r" Did you mean [^?]*\?")


class NoIntrospection(ValidationRule):
    """Refuses ``__schema`` and ``__type`` with a stable code."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.name.value in _INTROSPECTION_FIELDS:
            self.report_error(
                GraphQLError(
                    "Introspection is disabled on this gateway.",
                    node,
                    extensions={"code": "INTROSPECTION_DISABLED"},
                )
            )


def without_suggestions(message: str) -> str:
    """``message`` without graphql-core's "Did you mean …?" (fields, arguments, types, input
    fields, enum values)."""
    return _SUGGESTION.sub("", message)
