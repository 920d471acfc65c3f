"""Medications and visits through the gateway from the independent FHIR server (the edge cases in
tests/data/r4_edge_cases.json): a Medication included by ``_include`` or contained gives the
name and codes, RxNorm is never shown as ATC, a structured dosage is rendered, and the visit from
1940 stays out of a history since 2008."""

from __future__ import annotations

from tests.conftest import GatewayServer
from tests.fhir_server_support import EDGE_A

QUERY = """
query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) {
    medications {
      status
      prescriptions {
        id dosage prescribedAt
        medication { atcCode substance productName name codes { systemName code } }
      }
    }
    visitHistory { status visits { id start } }
  }
}"""


async def test_medications_and_visits_read_as_the_server_holds_them(
    independent_gateway: GatewayServer,
) -> None:
    body = await independent_gateway.graphql(QUERY, {"nin": EDGE_A.nin})
    assert not body.get("errors"), body.get("errors")
    patient = body["data"]["patient"]
    assert patient["medications"]["status"] == "COMPLETE"
    by_id = {p["id"]: p for p in patient["medications"]["prescriptions"]}
    referenced = by_id["a-mr-referenced"]["medication"]
    assert (referenced["atcCode"], referenced["name"]) == ("B01AA03", "Marevan 2,5 mg tablett")
    contained = by_id["a-mr-contained"]["medication"]
    assert contained["atcCode"] is None
    assert contained["codes"] == [{"systemName": "RxNorm", "code": "197361"}]
    assert contained["name"] == "Amlodipine 5 MG Oral Tablet"
    assert by_id["a-mr-referenced"]["dosage"] == "5 mg once a day, Oral route"
    assert by_id["a-mr-as-needed"]["dosage"].startswith("1 g 4 times a day, Oral route, as needed")
    visits = patient["visitHistory"]["visits"]
    assert "a-enc-1940" not in {v["id"] for v in visits}
    assert visits and all(v["start"] >= "2008" for v in visits)
