"""The requests the load sends, and a check that an answer is a whole, healthy summary."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Mapping

from bench.config import PEER_DIR
from bench.patients import fhir_token
from resolvers.examples import SUMMARY_QUERY_FILE

SUMMARY_HASH = hashlib.sha256(SUMMARY_QUERY_FILE.read_bytes()).hexdigest()
PEER_QUERY = (PEER_DIR / "summary.graphql").read_text(encoding="utf-8")
JSON_HEADERS = {"Content-Type": "application/json"}


def summary_body(nin: str) -> bytes:
    """The whole summary of ``nin``, sent by its trusted-document hash, as an EHR would."""
    return json.dumps(
        {
            "variables": {"nin": nin},
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": SUMMARY_HASH}},
        },
        separators=(",", ":"),
    ).encode()


def peer_body(nin: str) -> bytes:
    """The peer's query over the same searches for ``nin``."""
    return json.dumps(
        {"query": PEER_QUERY, "variables": {"patient": fhir_token(nin)}}, separators=(",", ":")
    ).encode()


def post(url: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    """POST ``body`` and return the answer's bytes (raises on an HTTP error)."""
    request = urllib.request.Request(url, data=body, headers={**JSON_HEADERS, **headers})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: bytes = response.read()
        return answer


def check_summary(answer: bytes) -> None:
    """Raise unless ``answer`` is a summary with no error and every section complete."""
    document = json.loads(answer)
    if document.get("errors"):
        codes = [e.get("extensions", {}).get("code") for e in document["errors"]]
        raise RuntimeError(f"the gateway answered with errors: {codes}")
    patient = (document.get("data") or {}).get("patient")
    if not patient:
        raise RuntimeError("the gateway answered without a patient")
    statuses = {
        name: section["status"]
        for name, section in patient.items()
        if isinstance(section, dict) and "status" in section
    }
    incomplete = {name: status for name, status in statuses.items() if status != "COMPLETE"}
    if len(statuses) != 8 or incomplete:
        raise RuntimeError(f"the summary is not whole: {incomplete or statuses}")


def check_peer(answer: bytes) -> None:
    """Raise unless the peer answered every search without an error."""
    document = json.loads(answer)
    if document.get("errors"):
        raise RuntimeError(f"the peer answered with errors: {document['errors'][:2]}")
    data = document.get("data") or {}
    missing = [name for name, bundle in data.items() if bundle is None]
    if len(data) != 14 or missing:
        raise RuntimeError(f"the peer's answer lacks searches: {missing or sorted(data)}")
