"""The gateway against the independent FHIR server, set up as an integrator would: every source's
base URL and nothing else. Each summary must hold that patient's data and nobody else's.

The server applies R4 semantics: ``subject:identifier`` matches nothing there (tests/fhir_server/
test_independent_server.py), so a gateway that did not bind patients to the server's own ids
would show every section COMPLETE and empty.
"""

from __future__ import annotations

import json
from typing import Any

from resolvers.examples import summary_query
from tests.conftest import GatewayServer
from tests.fhir_server_support import EDGE_A, EDGE_B, EDGE_C

SOURCES = "{ sourceHealth { source patientBinding privacySettings } }"


def _ids(value: Any) -> set[str]:
    """Every ``id`` anywhere in a GraphQL answer."""
    if isinstance(value, dict):
        own = {value["id"]} if isinstance(value.get("id"), str) else set()
        return own.union(*(_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_ids(v) for v in value))
    return set()


async def test_each_summary_holds_its_own_patients_data_and_no_one_elses(
    independent_gateway: GatewayServer,
) -> None:
    for patient, own, other in ((EDGE_A, "a-", "c-"), (EDGE_C, "c-", "a-")):
        body = await independent_gateway.graphql(summary_query(), {"nin": patient.nin})
        summary = body["data"]["patient"]
        assert summary["nin"] == patient.nin
        ids = _ids(summary)
        assert ids, "the summary has entries"
        assert all(not i.startswith(other) for i in ids), sorted(ids)
        assert any(i.startswith(own) for i in ids), sorted(ids)
        prescriptions = summary["medications"]["prescriptions"]
        assert prescriptions, json.dumps(summary["medications"])[:500]
        assert {p["id"][:2] for p in prescriptions} == {own}


async def test_every_source_binds_by_reference_and_says_so(
    independent_gateway: GatewayServer,
) -> None:
    await independent_gateway.graphql(summary_query(), {"nin": EDGE_A.nin})
    body = await independent_gateway.graphql(SOURCES)
    health = {s["source"]: s for s in body["data"]["sourceHealth"]}
    assert {s["patientBinding"] for s in health.values()} == {"reference"}, health
    assert "Consent" in health["CORE_RECORD"]["privacySettings"]
    assert health["PRESCRIPTIONS"]["privacySettings"] is None


async def test_a_number_the_server_does_not_know_is_no_patient(
    independent_gateway: GatewayServer,
) -> None:
    from mocks.fixtures import fixture

    body = await independent_gateway.graphql(summary_query(), {"nin": fixture("minimal").nin})
    assert body.get("errors") is None, body
    assert body["data"]["patient"] is None


async def test_an_active_privacy_consent_the_gateway_does_not_understand_withholds_everything(
    independent_gateway: GatewayServer,
) -> None:
    # EDGE_B's record holds an active patient-privacy Consent with a policy of its own and a LOINC
    # category (59284-0): not a reservation, restriction or block the gateway knows. Read as no
    # restriction it would be a fail-open; it must withhold the patient instead.
    body = await independent_gateway.graphql(summary_query(), {"nin": EDGE_B.nin})
    assert body["data"] == {"patient": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["PRIVACY_SETTINGS_UNKNOWN"]
