"""The summary as a standard FHIR document: the International Patient Summary."""
