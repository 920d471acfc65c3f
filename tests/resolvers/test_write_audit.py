"""The access-log events of every kind of write: the intent, committed before the registry is
asked, then the outcome, both as ``change:<section>`` with the actor, patient and basis."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.audit.events import AuditEvent
from gateway.audit.store import LogQuery
from gateway.graphql.schema import build_schema
from mocks.fixtures import BLOCKED_HPR_NUMBER, fixture
from mocks.personas import PID
from mocks.runner import MockRegistries
from tests.conftest import SchemaRunner

schema = build_schema()

OWN = fixture("home-care-elderly")  # the patient persona
CRITICAL = fixture("critical-allergies")
DATE = '"2026-10-01"'

CRITICAL_WRITES = [
    ("registerAllergy", 'input: {agent: "Lateks", category: ENVIRONMENT, reaction: "Elveblest", '
     "criticality: LOW, verification: CONFIRMED}"),
    ("registerCriticalCondition", 'input: {icd10Code: "E75.2", display: "Fabrys sykdom", '
     'note: "Sjelden sykdom"}'),
    ("registerOngoingTreatment",
     f'input: {{treatment: DIALYSIS, note: "Dialyse", startedOn: {DATE}}}'),
    ("registerImplant",
     f'input: {{device: "Cochleaimplantat", note: "Ikke MR", implantedOn: {DATE}}}'),
    ("registerProcedureChange", f'input: {{description: "Splenektomert", note: "Infeksjonsfare", '
     f"performedOn: {DATE}}}"),
]  # fmt: skip
CRITICAL_CHANGES = [
    (
        "updateCriticalInformation",
        'entry: {kind: ALLERGY, id: "fx-critical-allergies-alg1", '
        'baseVersion: "1"}, change: {note: "Bekreftet"}',
    ),
    (
        "retireCriticalInformation",
        'entry: {kind: IMPLANT, id: "fx-critical-allergies-dev1", '
        'baseVersion: "1"}, reason: REFUTED, explanation: "Fjernet 2025"',
    ),
]
OWN_CHANGES = [
    (
        "changeNextOfKin",
        'entry: {id: "fx-home-care-elderly-rel1", baseVersion: "1"}, input: '
        '{givenName: "Kari", familyName: "Haugen", relation: DAUGHTER, phone: "+4791234568"}',
        "change:ownRegistrations",
        None,
    ),
    (
        "removeNextOfKin",
        'entry: {id: "fx-home-care-elderly-rel2", baseVersion: "1"}',
        "change:ownRegistrations",
        None,
    ),
    (
        "removeCommunicationNeed",
        'entry: {id: "fx-home-care-elderly-flag2", baseVersion: "1"}',
        "change:ownRegistrations",
        None,
    ),
    (
        "removeSelfReportedCondition",
        'entry: {id: "fx-home-care-elderly-cond1", baseVersion: "1"}',
        "change:ownRegistrations",
        None,
    ),
]
OWN_WRITES = [
    ("addNextOfKin", 'input: {givenName: "Ola", familyName: "Haugen", relation: SON, '
     'phone: "+4799999999"}', "change:ownRegistrations", None),
    ("addCommunicationNeed", "input: {need: SIGHT}", "change:ownRegistrations", None),
    ("addSelfReportedCondition", "category: EPILEPSY", "change:ownRegistrations", None),
    ("restrictSections", "sections: [DOCUMENTS]", "change:privacySettings", None),
    ("blockHealthPersonnel", 'hprNumber: "9144903"', "change:privacySettings", None),
]  # fmt: skip


async def _run(runner: SchemaRunner, document: str, persona: str) -> list[AuditEvent]:
    context = runner.context(persona)
    result = await schema.execute(document, context_value=context)
    assert result.errors is None, result.errors
    # What the store holds for this request: the intent (committed before the write) and the
    # outcome (committed by WriteAccessLog at the end of the request), in order.
    stored = await runner.audit_writer.store.accesses(LogQuery(patient=_nin(document), first=50))
    return [
        s.event for group in stored for s in group if s.event.access_id == context.audit.access_id
    ]


def _nin(document: str) -> str:
    return document.split('nin: "')[1].split('"', maxsplit=1)[0]


def _assert_intent_then_outcome(
    events: list[AuditEvent], field: str, nin: str, **extra: Any
) -> None:
    changes = [e for e in events if e.field == field]
    assert [e.outcome for e in changes] == ["ATTEMPTED", "GRANTED"], changes
    for event in changes:
        assert event.patient == nin
        for name, value in extra.items():
            assert getattr(event, name) == value


@pytest.mark.parametrize(("mutation", "arguments"), CRITICAL_WRITES + CRITICAL_CHANGES)
async def test_each_critical_write_logs_its_intent_then_its_outcome(
    runner: SchemaRunner, registries: MockRegistries, mutation: str, arguments: str
) -> None:
    document = f'mutation {{ {mutation}(nin: "{CRITICAL.nin}", {arguments}) {{ replayed }} }}'
    events = await _run(runner, document, "home-care-gp")
    _assert_intent_then_outcome(
        events, "change:criticalInformation", CRITICAL.nin,
        actor_hpr="1282389", purpose="TREAT", basis="EXCEPTION",
    )  # fmt: skip
    assert len(registries.population.edits) == 1


@pytest.mark.parametrize(("mutation", "arguments", "field", "code"), OWN_WRITES + OWN_CHANGES)
async def test_each_own_registration_write_logs_its_intent_then_its_outcome(  # noqa: PLR0917
    runner: SchemaRunner, registries: MockRegistries, mutation: str, arguments: str, field: str,
    code: str | None,
) -> None:  # fmt: skip
    document = f'mutation {{ {mutation}(nin: "{OWN.nin}", {arguments}) {{ replayed }} }}'
    events = await _run(runner, document, "patient")
    _assert_intent_then_outcome(events, field, OWN.nin, actor_pid=OWN.nin, code=code)


async def test_opening_a_restricted_section_is_logged_with_its_flag(
    runner: SchemaRunner, registries: MockRegistries
) -> None:
    restricted = fixture("restricted-sections")
    document = (
        f'mutation {{ openSections(nin: "{restricted.nin}", sections: [LAB_RESULTS]) '
        "{ entries { id } } }"
    )
    claims: dict[str, Any] = {PID: restricted.nin}
    context = runner.context("patient", None, **claims)
    result = await schema.execute(document, context_value=context)
    assert result.errors is None, result.errors
    [outcome] = [e for e in context.audit.events if e.field == "change:privacySettings"]
    assert (outcome.outcome, outcome.code) == ("GRANTED", "RESTRICTION_LIFTED")


async def test_lifting_a_block_is_logged_with_its_flag(
    runner: SchemaRunner, registries: MockRegistries
) -> None:
    blocked = fixture("blocked-hpr")
    document = (
        f'mutation {{ unblockHealthPersonnel(nin: "{blocked.nin}", '
        f'hprNumber: "{BLOCKED_HPR_NUMBER}") {{ entries {{ id }} }} }}'
    )
    claims: dict[str, Any] = {PID: blocked.nin}
    context = runner.context("patient", None, **claims)
    result = await schema.execute(document, context_value=context)
    assert result.errors is None, result.errors
    [outcome] = [e for e in context.audit.events if e.field == "change:privacySettings"]
    assert (outcome.outcome, outcome.code) == ("GRANTED", "BLOCK_LIFTED")


async def test_a_refused_write_is_logged_as_denied_and_nothing_is_attempted(
    runner: SchemaRunner, registries: MockRegistries
) -> None:
    document = (
        f'mutation {{ addNextOfKin(nin: "{OWN.nin}", input: {{givenName: "A", familyName: "B", '
        f'relation: SON, phone: "+4799999999"}}) {{ replayed }} }}'
    )
    context = runner.context("home-care-nurse")
    result = await schema.execute(document, context_value=context)
    assert [e.extensions["code"] for e in result.errors or [] if e.extensions] == ["FORBIDDEN"]
    stored = await runner.audit_writer.store.accesses(LogQuery(patient=OWN.nin, first=50))
    logged = [
        (s.event.field, s.event.outcome, s.event.code)
        for group in stored
        for s in group
        if s.event.access_id == context.audit.access_id
    ]
    assert logged == [("change:ownRegistrations", "DENIED", "FORBIDDEN")], "no intent either"
    assert len(registries.population.edits) == 0
