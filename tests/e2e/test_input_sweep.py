"""Every string a client can send is checked whole: a sweep over the real schema.

The sweep introspects the schema the gateway serves: every argument of every query and mutation
(and of fields below them, such as ``Patient.document(id:)``), and every field of their input
objects, whose type wraps a string (``String``, ``ID``, ``Date``, ``DateTime``,
``NationalIdentityNumber``). Each is sent over HTTP, in an otherwise valid request, three ways:
with a trailing newline, with a leading space, and with a NUL inside.

The rule, by kind of value:

* **Identifiers and codes** (identity numbers, HPR numbers, entry ids, versions, idempotency
  keys, cursors, ATC/ICD-10/language codes, phone numbers, dates): all three are refused with
  ``BAD_USER_INPUT``. ``re.match`` with ``$`` let ``"9144901\\n"`` through, as a block that
  never matched anybody; an identifier has one spelling.
* **Free text** (names, notes, reactions, explanations, descriptions): a NUL, like any control
  character, is refused with ``BAD_USER_INPUT``; a leading space or a trailing newline is not
  part of what was meant (a form's stray whitespace) and is trimmed, so the request is
  accepted, and stores the same text as without it.

A new string argument fails the sweep until it has a valid value in ``VALID`` and a kind.
Refused requests write nothing to the registry.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    get_named_type,
)

from gateway.graphql.schema import build_schema
from mocks.fixtures import fixture
from mocks.personas import PID
from mocks.runner import MockRegistries
from tests.conftest import GatewayServer, bearer

schema = build_schema()

OWN = fixture("home-care-elderly").nin  # the patient persona's own record
CRITICAL = fixture("critical-allergies").nin
STRING_SCALARS = {"String", "ID", "Date", "DateTime", "NationalIdentityNumber"}
POISONS = {"trailing newline": "{}\n", "leading space": " {}", "NUL": "{}\x00"}

FREE_TEXT = {
    "input.agent", "input.reaction", "input.display", "input.note", "input.description",
    "input.device", "change.note", "change.reaction", "explanation", "input.givenName",
    "input.familyName",
}  # fmt: skip

_ENTRY = {"kind": "ALLERGY", "id": "fx-critical-allergies-alg1", "baseVersion": "1"}
_OWN_ENTRY = {"id": "fx-home-care-elderly-rel1", "baseVersion": "1"}
_KIN = {"givenName": "Ola", "familyName": "Haugen", "relation": "SON", "phone": "+47 999 99 999"}
VALID: dict[str, tuple[str, dict[str, Any]]] = {
    # field: (persona, its valid arguments)
    "patient": ("home-care-gp", {"nin": CRITICAL}),
    "patient.document": ("home-care-gp", {"nin": CRITICAL, "id": "fx-critical-allergies-doc1"}),
    "patientStatus": ("home-care-gp", {"nin": CRITICAL}),
    "accessLog": ("privacy-officer", {
        "nin": CRITICAL, "after": "1000", "actorHprNumber": "9144903",
        "since": "2026-01-01T00:00:00+00:00", "until": "2030-01-01T00:00:00+00:00",
    }),
    "privacyAlerts": ("privacy-officer", {"after": "1000"}),
    "registerAllergy": ("home-care-gp", {"nin": CRITICAL, "input": {
        "agent": "Lateks", "atcCode": "J01CE02", "category": "ENVIRONMENT",
        "reaction": "Elveblest", "criticality": "LOW", "verification": "CONFIRMED",
    }}),
    "registerCriticalCondition": ("home-care-gp", {"nin": CRITICAL, "input": {
        "icd10Code": "E75.2", "display": "Fabrys sykdom", "note": "Sjelden sykdom",
    }}),
    "registerOngoingTreatment": ("home-care-gp", {"nin": CRITICAL, "input": {
        "treatment": "DIALYSIS", "description": "Hemodialyse", "note": "Dialyse",
        "startedOn": "2026-10-01",
    }}),
    "registerImplant": ("home-care-gp", {"nin": CRITICAL, "input": {
        "device": "Cochleaimplantat", "note": "Ikke MR", "implantedOn": "2026-10-01",
    }}),
    "registerProcedureChange": ("home-care-gp", {"nin": CRITICAL, "input": {
        "description": "Splenektomert", "note": "Infeksjonsfare", "performedOn": "2026-10-01",
    }}),
    "updateCriticalInformation": ("home-care-gp", {
        "nin": CRITICAL, "entry": _ENTRY, "change": {"note": "Bekreftet", "reaction": "Utslett"},
    }),
    "retireCriticalInformation": ("home-care-gp", {
        "nin": CRITICAL, "entry": _ENTRY, "reason": "REFUTED", "explanation": "Avkreftet",
    }),
    "addNextOfKin": ("patient", {"nin": OWN, "input": _KIN}),
    "changeNextOfKin": ("patient", {"nin": OWN, "entry": _OWN_ENTRY, "input": _KIN}),
    "removeNextOfKin": ("patient", {"nin": OWN, "entry": _OWN_ENTRY}),
    "addCommunicationNeed": ("patient", {"nin": OWN, "input": {
        "need": "INTERPRETER", "language": "pl", "description": "Tolk",
    }}),
    "removeCommunicationNeed": ("patient", {"nin": OWN, "entry": _OWN_ENTRY}),
    "addSelfReportedCondition": ("patient", {"nin": OWN, "category": "EPILEPSY"}),
    "removeSelfReportedCondition": ("patient", {"nin": OWN, "entry": _OWN_ENTRY}),
    "restrictSections": ("patient", {"nin": OWN, "sections": ["DOCUMENTS"]}),
    "openSections": ("patient", {"nin": OWN, "sections": ["DOCUMENTS"]}),
    "blockHealthPersonnel": ("patient", {"nin": OWN, "hprNumber": "9144903"}),
    "unblockHealthPersonnel": ("patient", {"nin": OWN, "hprNumber": "9144903"}),
}  # fmt: skip
_KEYS = itertools.count()


@dataclass(frozen=True)
class Target:
    """One field to call: where it sits, its document, and its string-typed argument paths."""

    name: str  # "registerAllergy", or "patient.document" for a field below Query.patient
    operation: str  # query or mutation
    document: str
    string_paths: tuple[str, ...]


def _string_paths(name: str, type_: GraphQLInputType) -> Iterator[str]:
    named = get_named_type(type_)
    if isinstance(named, GraphQLInputObjectType):
        for field_name, field in named.fields.items():
            yield from _string_paths(f"{name}.{field_name}", field.type)
    elif isinstance(named, GraphQLScalarType) and named.name in STRING_SCALARS:
        yield name


def _selection(field: GraphQLField) -> str:
    named = get_named_type(field.type)
    return " { __typename }" if isinstance(named, GraphQLObjectType | GraphQLInterfaceType) else ""


def _call(name: str, field: GraphQLField, inner: str = "") -> tuple[str, str]:
    # Arguments with a default that is not a string (first, emergencyOnly) keep their default.
    used = {
        a: arg
        for a, arg in field.args.items()
        if arg.default_value is Undefined or any(_string_paths(a, arg.type))
    }
    params = ", ".join(f"${a}: {arg.type}" for a, arg in used.items())
    args = ", ".join(f"{a}: ${a}" for a in used)
    call = f"{name}({args})" if args else name
    return params, f"{call}{inner or _selection(field)}"


def targets() -> list[Target]:
    """Every field with a string-typed argument, from the schema the gateway serves."""
    gql = schema._schema
    found: list[Target] = []
    for operation, root in (("query", gql.query_type), ("mutation", gql.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            paths = tuple(p for a, arg in field.args.items() for p in _string_paths(a, arg.type))
            params, call = _call(name, field)
            if paths:
                found.append(Target(name, operation, f"{operation}({params}) {{ {call} }}", paths))
            below = get_named_type(field.type)
            if not isinstance(below, GraphQLObjectType):
                continue
            for child_name, child in below.fields.items():
                child_paths = tuple(
                    p for a, arg in child.args.items() for p in _string_paths(a, arg.type)
                )
                if not child_paths:
                    continue
                child_params, child_call = _call(child_name, child)
                outer_params, outer = _call(name, field, f" {{ {child_call} }}")
                joined = ", ".join(p for p in (outer_params, child_params) if p)
                found.append(
                    Target(
                        f"{name}.{child_name}",
                        operation,
                        f"{operation}({joined}) {{ {outer} }}",
                        tuple(paths) + child_paths,
                    )
                )
    return found


def _with(variables: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    copied = dict(variables)
    copied[head] = _with(variables[head], rest, value) if rest else value
    return copied


def _get(variables: dict[str, Any], path: str) -> Any:
    for step in path.split("."):
        variables = variables[step]
    return variables


async def _send(gw: GatewayServer, target: Target, variables: dict[str, Any]) -> dict[str, Any]:
    persona, _ = VALID[target.name]
    if "idempotencyKey" in target.string_paths and "idempotencyKey" not in variables:
        variables = {**variables, "idempotencyKey": f"sweep-key-{next(_KEYS):06d}"}
    if persona == "patient":
        return await gw.graphql(
            target.document, variables, headers=bearer("patient", **{PID: OWN}), persona=None
        )
    return await gw.graphql(target.document, variables, persona=persona)


def _codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def test_the_sweep_covers_every_string_argument_the_schema_has() -> None:
    found = {t.name: t for t in targets()}
    assert set(found) == set(VALID), "give each new field a valid request in VALID"
    for target in found.values():
        _, valid = VALID[target.name]
        for path in target.string_paths:
            if path != "idempotencyKey":
                assert isinstance(_get(valid, path), str), f"{target.name}: no value for {path}"


async def test_every_string_argument_refuses_a_newline_a_leading_space_and_a_nul(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    refused_wrongly: list[str] = []
    for target in targets():
        _, valid = VALID[target.name]
        base = await _send(gateway, target, valid)
        assert not {"BAD_USER_INPUT", "INTERNAL_SERVER_ERROR"} & set(_codes(base)), base
        for path in target.string_paths:
            original = "sweep-key-base01" if path == "idempotencyKey" else _get(valid, path)
            for poison, template in POISONS.items():
                written = len(registries.population.edits)
                body = await _send(gateway, target, _with(valid, path, template.format(original)))
                assert "INTERNAL_SERVER_ERROR" not in _codes(body), (target.name, path, body)
                refused = "BAD_USER_INPUT" in _codes(body)
                should_refuse = path not in FREE_TEXT or poison == "NUL"
                if refused != should_refuse:
                    refused_wrongly.append(f"{target.name} {path} {poison}: {_codes(body)}")
                if refused:
                    assert len(registries.population.edits) == written, (target.name, path)
    assert refused_wrongly == [], "\n".join(refused_wrongly)
