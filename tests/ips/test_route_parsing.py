"""How ``Patient/$summary`` reads the patient it is asked for: one identifier, one spelling."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import BadUserInput
from gateway.identity import OID_D_NUMBER, OID_FODSELSNUMMER, IdentityNumberKind
from gateway.ips.route import _from_parameters, identity_number

NIN = "12834122055"
D_NUMBER = "55827010056"


def _parameters(*parameters: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(parameters)}


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        (NIN, IdentityNumberKind.FODSELSNUMMER),
        (f"{OID_FODSELSNUMMER}|{NIN}", IdentityNumberKind.FODSELSNUMMER),
        (f"{OID_D_NUMBER}|{D_NUMBER}", IdentityNumberKind.D_NUMBER),
    ],
)
def test_a_token_with_or_without_its_system_names_the_patient(
    token: str, kind: IdentityNumberKind
) -> None:
    assert identity_number(token).kind is kind


@pytest.mark.parametrize(
    "token",
    [
        f"{OID_D_NUMBER}|{NIN}",  # a fødselsnummer under the D-number system
        f"http://example.org|{NIN}",
        f"|{NIN}",  # an empty system is a system, and not one of ours
        f"{NIN} ",
        f"{NIN}\n",
        "1283412205",
        "12834122056",
    ],
)
def test_anything_else_is_bad_input_that_never_repeats_the_number(token: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        identity_number(token)
    assert NIN not in refused.value.message


@pytest.mark.parametrize(
    ("parameter", "token"),
    [
        (
            {"name": "identifier", "valueIdentifier": {"system": OID_FODSELSNUMMER, "value": NIN}},
            f"{OID_FODSELSNUMMER}|{NIN}",
        ),
        ({"name": "identifier", "valueIdentifier": {"value": NIN}}, NIN),
        (
            {"name": "identifier", "valueString": f"{OID_FODSELSNUMMER}|{NIN}"},
            f"{OID_FODSELSNUMMER}|{NIN}",
        ),
    ],
)
def test_parameters_give_the_identifier_as_an_identifier_or_a_token(
    parameter: dict[str, Any], token: str
) -> None:
    assert _from_parameters(_parameters(parameter)) == token


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Bundle"},
        [],
        _parameters(),
        _parameters(
            {"name": "identifier", "valueString": NIN}, {"name": "identifier", "valueString": NIN}
        ),
        _parameters(
            {"name": "identifier", "valueString": NIN}, {"name": "profile", "valueCanonical": "x"}
        ),
        _parameters({"name": "identifier", "valueInteger": 1}),
        _parameters({"name": "identifier", "valueIdentifier": {"system": 1, "value": NIN}}),
        {"resourceType": "Parameters", "parameter": {"name": "identifier"}},
    ],
)
def test_any_other_body_is_bad_input(body: Any) -> None:
    with pytest.raises(BadUserInput):
        _from_parameters(body)
