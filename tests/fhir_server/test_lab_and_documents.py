"""Lab results and documents through the gateway against the independent FHIR server loaded with
the R4 edge cases (tests/fhir_server_support.py): what a FHIR server we did not write answers,
mapped. The server honours ``category`` and ``_include``; the gateway filters again anyway."""

from __future__ import annotations

import base64
import json

from tests.conftest import GatewayServer
from tests.fhir_server_support import EDGE_A, EDGE_CASES
from tests.resolvers.test_lab_results_mapping import LAB_QUERY

OPEN = """
query($nin: NationalIdentityNumber!, $id: ID!) {
  patient(nin: $nin) { document(id: $id) { id title contentType sizeBytes text dataBase64 } }
}"""


async def test_edge_a_lab_reports_unreported_results_and_documents(
    independent_gateway: GatewayServer,
) -> None:
    body = await independent_gateway.graphql(LAB_QUERY, {"nin": EDGE_A.nin})
    assert body.get("errors") is None, body
    lab = body["data"]["patient"]["labResults"]
    assert lab["status"] == "COMPLETE"
    # The cardiology progress note is not a laboratory report.
    (report,) = lab["reports"]
    assert report["id"] == "a-dr-lab" and report["missingResults"] == 0
    assert [r["id"] for r in report["results"]] == ["a-obs-hemoglobin", "a-obs-leukocytes"]
    # Named from the Organization the server included (_include=DiagnosticReport:performer).
    assert report["performers"] == [
        {
            "kind": "ORGANISATION",
            "name": "Sørlandet sykehus HF, Avdeling for medisinsk biokjemi",
            "organizationNumber": "974631326",
        }
    ]
    # Laboratory results in no report; the blood pressure (vital signs) is not one of them.
    assert sorted(r["id"] for r in lab["unreportedResults"]) == [
        "a-obs-blood-group",
        "a-obs-creatinine",
        "a-obs-hbsag",
        "a-obs-urine-culture",
    ]
    documents = {d["id"]: d for d in body["data"]["patient"]["documents"]["documents"]}
    assert set(documents) == {
        "a-doc-inline",
        "a-doc-discharge-v2",
        "a-doc-discharge-v1",
        "a-doc-type-only",
    }
    assert documents["a-doc-discharge-v1"]["status"] == "SUPERSEDED"
    assert documents["a-doc-discharge-v1"]["replacedBy"] == "a-doc-discharge-v2"
    assert documents["a-doc-type-only"]["title"] == "Consult note"
    assert documents["a-doc-discharge-v2"]["author"] is None
    assert documents["a-doc-discharge-v2"]["authors"] == [
        {"kind": "PERSON", "name": "Henrik Strand"}
    ]
    assert documents["a-doc-inline"]["author"] == {"name": "Arendal legesenter"}


async def test_edge_a_inline_document_opens(independent_gateway: GatewayServer) -> None:
    body = await independent_gateway.graphql(OPEN, {"nin": EDGE_A.nin, "id": "a-doc-inline"})
    assert body.get("errors") is None, body
    opened = body["data"]["patient"]["document"]
    bundle = json.loads(EDGE_CASES.read_text())
    (resource,) = [e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "a-doc-inline"]
    expected = base64.b64decode(resource["content"][0]["attachment"]["data"]).decode()
    assert opened["text"] == expected
    assert (opened["contentType"], opened["sizeBytes"]) == ("text/plain", len(expected.encode()))
