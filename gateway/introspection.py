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
_SUGGESTION = re.compile(r" Did you mean .*\?$", re.DOTALL)


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
    """``message`` without graphql-core's "Did you mean …?"."""
    return _SUGGESTION.sub("", message)
