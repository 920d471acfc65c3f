"""Custom GraphQL scalars, registered on the schema through ``scalar_overrides``."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import StringValueNode, ValueNode

from gateway.errors import BadUserInput
from gateway.fhir_date import FhirDateTime
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


def _no_fhir_date_input(value: Any) -> FhirDateTime:
    raise BadUserInput("FhirDateTime is an output type only")


FHIR_DATE_TIME = strawberry.scalar(
    name="FhirDateTime",
    description=(
        'A FHIR date or dateTime at the precision the source recorded: a year ("2010"), a month '
        '("1974-12"), a day ("1974-12-24") or a full ISO 8601 dateTime with its offset. A '
        "partial value means the source knew no more; it is never padded to a day or an instant."
    ),
    specified_by_url="https://hl7.org/fhir/R4/datatypes.html#dateTime",
    serialize=str,
    parse_value=_no_fhir_date_input,
)

SCALAR_OVERRIDES: dict[object, Any] = {
    NationalIdentityNumber: NATIONAL_IDENTITY_NUMBER,
    FhirDateTime: FHIR_DATE_TIME,
}
