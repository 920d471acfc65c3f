"""The summary as an HL7 FHIR International Patient Summary document: the same sections as the
GraphQL summary (``gather``), one resource per item (``resources``), the Bundle with its
Composition and sections (``document``). The HTTP operation is ``gateway/ips/route.py``."""
