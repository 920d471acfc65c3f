"""Talking to the registries.

``fhir`` (the FHIR client: searches, paging, reads, and the one place registry HTTP errors
become ``SourceError``s), ``fhir_write`` (conditional writes), ``binding`` and ``capabilities``
(how each registry names a patient), ``credentials`` (how the gateway proves itself to it),
``guard`` (around every call: ``cache``, ``breaker``, ``retry``, bulkhead and ``deadline``), and
``fan_out`` (each search once per request, all of them at once).
"""
