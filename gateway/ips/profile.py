"""The gateway's own names in the FHIR documents it makes (docs/ips.md): where its code systems,
identifier systems and extensions live."""

BASE = "https://summary-gateway.example/fhir"
GATEWAY_ERRORS = f"{BASE}/CodeSystem/gateway-error"
"""The gateway's stable error codes (GraphQL's ``extensions.code``) as a FHIR code system."""
