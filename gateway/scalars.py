"""Custom GraphQL scalars, registered on the schema through ``scalar_overrides``."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import StringValueNode, ValueNode

from gateway.errors import BadUserInput
from gateway.identity import InvalidIdentityNumber, NationalIdentityNumber, parse


def _parse_identity_number(value: Any) -> NationalIdentityNumber:
    if not isinstance(value, str):
        raise BadUserInput("NationalIdentityNumber must be a string of 11 digits")
    try:
        return parse(value)
    except InvalidIdentityNumber as exc:
        # The message names the rule that failed, never the number itself.
        raise BadUserInput(f"not a valid national identity number: {exc}") from None


def _parse_identity_literal(node: ValueNode, _variables: Any = None) -> NationalIdentityNumber:
    if not isinstance(node, StringValueNode):
        raise BadUserInput("NationalIdentityNumber must be a string of 11 digits")
    return _parse_identity_number(node.value)


NATIONAL_IDENTITY_NUMBER = strawberry.scalar(
    name="NationalIdentityNumber",
    description=(
        "A Norwegian national identity number: fødselsnummer, D-number, H-number or a synthetic "
        "test number (month + 80), 11 digits, check digits valid under the current or the 2032 "
        "rule. Anything else is rejected with extensions.code BAD_USER_INPUT before any registry "
        "is asked."
    ),
    specified_by_url="https://www.skatteetaten.no/en/person/national-registry/identitynumber-and-dnumber/",
    serialize=str,
    parse_value=_parse_identity_number,
    parse_literal=_parse_identity_literal,
)

SCALAR_OVERRIDES: dict[object, Any] = {NationalIdentityNumber: NATIONAL_IDENTITY_NUMBER}
